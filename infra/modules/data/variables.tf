variable "name" {
  description = "Prefix of every resource name (selfheal-dev, selfheal-prod)."
  type        = string
}

variable "incident_retention_days" {
  description = "Days an incident's audit record stays in the bucket (the table's items expire by their own ttl attribute)."
  type        = number
  default     = 400
  validation {
    condition     = var.incident_retention_days >= 90
    error_message = "Keep audit records at least 90 days."
  }
}

variable "object_lock_days" {
  description = "Days an incident record is locked (Object Lock, governance mode) against change or deletion."
  type        = number
  default     = 90
  validation {
    condition     = var.object_lock_days >= 1 && var.object_lock_days <= 3650
    error_message = "object_lock_days must be between 1 and 3650."
  }
}

variable "admin_role_arns" {
  description = "Roles that administer the customer key (the deploy role); nobody else may change or delete it."
  type        = list(string)
  validation {
    condition     = length(var.admin_role_arns) > 0 && alltrue([for a in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "admin_role_arns must be IAM role ARNs."
  }
}
