variable "policy_file" {
  description = "statemachines/policy.yaml."
  type        = string
}

variable "own" {
  description = "The environment's own cluster: alerts without a `cluster` label are for it."
  type        = object({ name = string, region = string, namespaces = list(string) })
}

variable "others" {
  description = "Other clusters selfheal remediates (the platform's `clusters` variable)."
  type = list(object({
    name       = string
    region     = string
    namespaces = list(string)
  }))
  validation {
    condition     = !contains([for c in var.others : c.name], "")
    error_message = "Every cluster has a name."
  }
}
