variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "The customer key for the alarm topic."
  type        = string
}

variable "state_machine_arn" {
  description = "The remediation state machine."
  type        = string
}

variable "api_id" {
  description = "The HTTP API (ingest's 5xx)."
  type        = string
}

variable "function_names" {
  description = "Function names by handler (throttles, errors)."
  type        = map(string)
}

variable "dlq_name" {
  description = "The dead-letter queue of AMP deliveries."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (confirmed by mail); empty subscribes none."
  type        = list(string)
  default     = []
}
