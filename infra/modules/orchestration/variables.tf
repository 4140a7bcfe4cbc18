variable "name" {
  description = "Prefix of every resource name; the state machine is NAME-remediation."
  type        = string
}

variable "definition_file" {
  description = "The workflow's ASL template (statemachines/remediation.asl.json)."
  type        = string
}

variable "function_arns" {
  description = "Function ARNs by handler (audit, approval, remediate, health-check, analyzer)."
  type        = map(string)
}

variable "table" {
  description = "The incident table (the workflow reads the kill switch from it): name and ARN."
  type        = object({ name = string, arn = string })
}

variable "kms_key_arn" {
  description = "The customer key for the execution history and the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days the executions' logs are kept."
  type        = number
  default     = 90
}
