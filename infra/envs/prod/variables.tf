variable "region" {
  description = "The AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "azs" {
  description = "The three availability zones, named (not looked up: the set must not grow when AWS adds a zone)."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

variable "admin_role_arns" {
  description = "Roles that administer the customer key: the role the deploy runs as."
  type        = list(string)
}

variable "api_public_access_cidrs" {
  description = "Networks that may reach the EKS API's public endpoint (the deploy runner)."
  type        = list(string)
  default     = []
}

variable "slack_channel" {
  description = "The Slack channel incidents are posted to (with the bot token)."
  type        = string
}

variable "approvers" {
  description = "Slack user ids who may approve risky steps."
  type        = list(string)
  default     = []
}

variable "prometheus_url" {
  description = "Prometheus for SLI checks (in-cluster Prometheus through an internal load balancer, or AMP's query endpoint)."
  type        = string
  default     = ""
}

variable "package_dir" {
  description = "Where scripts/package left the zips."
  type        = string
  default     = "../../../target/lambda"
}
