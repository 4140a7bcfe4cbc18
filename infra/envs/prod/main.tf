# selfheal's prod environment: the whole stack (infra/modules/stack) with prod's sizes.
provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "selfheal"
      environment = "prod"
    }
  }
}

module "selfheal" {
  source                  = "../../modules/stack"
  environment             = "prod"
  azs                     = var.azs
  nat_gateways            = 3
  node_count              = { desired = 6, min = 3, max = 12 }
  admin_role_arns         = var.admin_role_arns
  api_public_access_cidrs = var.api_public_access_cidrs
  allowed_namespaces      = ["shop"]
  package_dir             = var.package_dir
  prometheus_url          = var.prometheus_url
  slack                   = { mode = "bot", channel = var.slack_channel }
  approvers               = var.approvers
  llm                     = { provider = "bedrock", model = "anthropic.claude-3-5-haiku-20241022-v1:0" }
  log_retention_days      = 365
  remediate_concurrency   = 5
  alarm_emails            = ["sre-oncall@example.com"]
}
