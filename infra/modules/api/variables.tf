variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "ingest" {
  description = "The ingest function: name and ARN."
  type        = object({ name = string, arn = string })
}

variable "approval" {
  description = "The approval function: name and ARN."
  type        = object({ name = string, arn = string })
}

variable "kms_key_arn" {
  description = "The customer key: the SNS topic, the dead-letter queue, the access log group."
  type        = string
}

variable "throttle" {
  description = "Requests per second (and burst) the API accepts; Alertmanager resends what is refused."
  type        = object({ rate = number, burst = number })
  default     = { rate = 20, burst = 50 }
  validation {
    condition     = var.throttle.rate > 0 && var.throttle.burst >= var.throttle.rate
    error_message = "throttle needs 0 < rate <= burst."
  }
}

variable "log_retention_days" {
  description = "Days the access logs are kept."
  type        = number
  default     = 90
}
