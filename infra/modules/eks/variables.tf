variable "name" {
  description = "The cluster's name."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version is like 1.33."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control plane's network interfaces and the nodes."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Networks that may reach the API server's public endpoint (the deploy runner); empty keeps it private."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer key for Kubernetes secrets envelope encryption and the control plane's log group."
  type        = string
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m7g.large"]
}

variable "node_count" {
  description = "Desired, minimum and maximum nodes of the managed node group."
  type = object({
    desired = number
    min     = number
    max     = number
  })
  default = { desired = 3, min = 3, max = 6 }
  validation {
    condition     = var.node_count.min <= var.node_count.desired && var.node_count.desired <= var.node_count.max && var.node_count.min >= 2
    error_message = "node_count needs 2 <= min <= desired <= max (a drain needs somewhere to go)."
  }
}

variable "log_retention_days" {
  description = "Days the control plane's logs are kept."
  type        = number
  default     = 90
}
