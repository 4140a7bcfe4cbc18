variable "environment" {
  description = "dev or prod: names every resource selfheal-ENV and picks k8s/overlays/ENV's Kubernetes groups."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "region" {
  description = "The AWS region of the platform and its own cluster."
  type        = string
  default     = "eu-west-1"
}

variable "azs" {
  description = "The region's three availability zones, named (not looked up: the set must not grow when AWS adds a zone)."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 3
    error_message = "azs names three availability zones."
  }
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block."
  type        = string
  default     = "10.0.0.0/16"
}

variable "nat_gateways" {
  description = "NAT gateways: 1 (dev, cheaper) or 3 (prod, one per AZ)."
  type        = number
  default     = 1
}

variable "admin_role_arns" {
  description = "Roles that administer the customer key (the deploy role)."
  type        = list(string)
}

variable "api_public_access_cidrs" {
  description = "Networks that may reach the EKS API's public endpoint (the deploy runner); empty keeps it private."
  type        = list(string)
  default     = []
}

variable "node_count" {
  description = "The node group's desired, minimum and maximum size."
  type        = object({ desired = number, min = number, max = number })
  default     = { desired = 3, min = 3, max = 6 }
}

variable "allowed_namespaces" {
  description = "Namespaces selfheal may act in, in the cluster this platform creates."
  type        = list(string)
  default     = ["shop"]
}

variable "clusters" {
  description = "Other EKS clusters (this account, any region) selfheal remediates besides its own: each gets the functions' access entries scoped to its namespaces, and alerts whose `cluster` label names none of these (or the own cluster) are refused at ingest. Apply k8s/'s RBAC in each."
  type = list(object({
    name       = string
    region     = string
    namespaces = list(string)
  }))
  default = []
  validation {
    condition = alltrue([for c in var.clusters :
      can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", c.name)) && length(c.namespaces) > 0 && !contains(c.namespaces, "kube-system")
    ])
    error_message = "Each cluster has an EKS cluster name and at least one namespace, never kube-system."
  }
  validation {
    condition     = length(distinct([for c in var.clusters : c.name])) == length(var.clusters)
    error_message = "Each cluster is named once."
  }
}

variable "package_dir" {
  description = "Where scripts/package leaves the function zips."
  type        = string
  default     = "../../target/lambda"
}

variable "prometheus_url" {
  description = "Prometheus (or AMP's query endpoint) for SLI checks and evidence."
  type        = string
  default     = ""
}

variable "loki_url" {
  description = "Loki, for the logs of pods already gone."
  type        = string
  default     = ""
}

variable "slack" {
  description = "Slack delivery: mode bot (with channel) or webhook."
  type        = object({ mode = string, channel = string })
}

variable "approvers" {
  description = "Slack user ids whose clicks decide approvals (at least one: nobody else can approve a risky step)."
  type        = list(string)
}

variable "llm" {
  description = "The analyzer's model (provider rules, anthropic, openai or bedrock)."
  type = object({
    provider        = string
    model           = string
    base_url        = optional(string, "")
    max_tokens      = optional(number, 600)
    timeout_seconds = optional(number, 20)
    token_budget    = optional(number, 6000)
  })
  default = { provider = "rules", model = "" }
}

variable "log_retention_days" {
  description = "Days every log group keeps its logs."
  type        = number
  default     = 90
}

variable "remediate_concurrency" {
  description = "Reserved concurrency of remediate."
  type        = number
  default     = 5
}

variable "alarm_emails" {
  description = "Addresses for selfheal's own alarms."
  type        = list(string)
  default     = []
}
