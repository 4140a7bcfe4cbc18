variable "name" {
  description = "Prefix of every resource name (selfheal-dev): functions are NAME-ingest, NAME-audit..."
  type        = string
}

variable "package_dir" {
  description = "Where scripts/package leaves the zips: DIR/<function>/bootstrap.zip (cargo lambda's layout)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC the functions run in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the functions (AWS through VPC endpoints, Slack and the LLM through NAT)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "The customer key: log groups, environment variables; decrypts the secrets and audit records."
  type        = string
}

variable "table" {
  description = "The incident table: name and ARN."
  type        = object({ name = string, arn = string })
}

variable "bucket" {
  description = "The audit bucket: name and ARN."
  type        = object({ name = string, arn = string })
}

variable "secret_arns" {
  description = "Secret ARNs by name: webhook-token, slack-signing-secret, slack-bot-token, llm-api-key."
  type        = map(string)
}

variable "state_machine_arn" {
  description = "The remediation state machine's ARN (ingest starts executions of it)."
  type        = string
}

variable "clusters" {
  description = "The EKS clusters the functions act on, by name: region and ARN (EKS_CLUSTERS; eks:DescribeCluster on each)."
  type        = map(object({ region = string, arn = string }))
}

variable "amp_topic_arn" {
  description = "The SNS topic Amazon Managed Prometheus alerts arrive on (ingest accepts SNS deliveries only from it)."
  type        = string
}

variable "policy_json" {
  description = "The guardrail policy (statemachines/policy.yaml as JSON): SELFHEAL_POLICY of ingest, audit and remediate."
  type        = string
}

variable "prometheus_url" {
  description = "Prometheus (or AMP's query endpoint) for SLI checks and evidence; empty leaves SLI checks unknown."
  type        = string
  default     = ""
}

variable "loki_url" {
  description = "Loki, for the logs of pods already gone; empty skips them."
  type        = string
  default     = ""
}

variable "slack" {
  description = "How messages reach Slack: a bot token (chat.postMessage to channel, threads, buttons) or an incoming webhook (the slack-bot-token secret then holds its URL)."
  type = object({
    mode    = string
    channel = string
  })
  validation {
    condition     = contains(["bot", "webhook"], var.slack.mode) && (var.slack.mode == "webhook" || var.slack.channel != "")
    error_message = "slack.mode is bot (with a channel) or webhook."
  }
}

variable "approvers" {
  description = "Slack user ids whose clicks decide approvals; the approval function refuses to start without one, so nobody else in the channel can approve a risky step."
  type        = list(string)

  validation {
    condition     = length(var.approvers) > 0 && alltrue([for id in var.approvers : can(regex("^[UW][A-Z0-9]{2,}$", id))])
    error_message = "approvers lists at least one Slack user id (U… or W…)."
  }
}

variable "llm" {
  description = "The analyzer's model: provider (rules, anthropic, openai, bedrock), model, base URL for OpenAI-compatible servers, and limits."
  type = object({
    provider        = string
    model           = string
    base_url        = optional(string, "")
    max_tokens      = optional(number, 600)
    timeout_seconds = optional(number, 20)
    token_budget    = optional(number, 6000)
  })
  validation {
    condition     = contains(["rules", "anthropic", "openai", "bedrock"], var.llm.provider)
    error_message = "llm.provider is rules, anthropic, openai or bedrock."
  }
}

variable "redact_ips" {
  description = "Whether the analyzer redacts IP addresses from the evidence before the model sees it."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept."
  type        = number
  default     = 90
  validation {
    condition     = contains([30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (30 to 3653)."
  }
}

variable "remediate_concurrency" {
  description = "Reserved concurrency of remediate: at most this many cluster changes at once, whatever arrives."
  type        = number
  default     = 5
  validation {
    condition     = var.remediate_concurrency >= 1 && var.remediate_concurrency <= 50
    error_message = "remediate_concurrency must be between 1 and 50."
  }
}
