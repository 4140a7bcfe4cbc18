# selfheal's dev environment: the whole stack (infra/modules/stack) with dev's sizes.
provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "selfheal"
      environment = "dev"
    }
  }
}

module "selfheal" {
  source                  = "../../modules/stack"
  environment             = "dev"
  azs                     = var.azs
  nat_gateways            = 1
  node_count              = { desired = 3, min = 3, max = 6 }
  admin_role_arns         = var.admin_role_arns
  api_public_access_cidrs = var.api_public_access_cidrs
  allowed_namespaces      = ["shop"]
  package_dir             = var.package_dir
  prometheus_url          = var.prometheus_url
  slack                   = { mode = "bot", channel = var.slack_channel }
  approvers               = var.approvers
  llm                     = { provider = "bedrock", model = "anthropic.claude-3-5-haiku-20241022-v1:0" }
  log_retention_days      = 30
  remediate_concurrency   = 3
  alarm_emails            = []
}
