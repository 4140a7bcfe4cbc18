variable "name" {
  description = "Prefix of every resource name (selfheal-dev, selfheal-prod)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "cidr" {
  description = "The VPC's CIDR block; split into three public and three private subnets."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.cidr)) && tonumber(split("/", var.cidr)[1]) <= 20
    error_message = "cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "azs" {
  description = "Three availability zones of the region."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 3
    error_message = "azs must name exactly three availability zones."
  }
}

variable "nat_gateways" {
  description = "NAT gateways for the nodes' egress (image pulls): 1 saves cost (dev), 3 survives an AZ outage (prod). The Lambdas need none: they reach AWS through the VPC endpoints."
  type        = number
  default     = 1
  validation {
    condition     = contains([1, 3], var.nat_gateways)
    error_message = "nat_gateways must be 1 or 3."
  }
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "The customer key that encrypts the flow logs' log group."
  type        = string
}
