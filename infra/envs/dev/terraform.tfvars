# The dev environment: one NAT gateway, three nodes, 30-day logs, the shop namespace only.
# Values for your account (admin_role_arns, slack, approvers, other clusters) go in a file of
# your own, passed after this one: scripts/deploy dev --var-file my.tfvars.
environment           = "dev"
region                = "eu-west-1"
azs                   = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
nat_gateways          = 1
node_count            = { desired = 3, min = 3, max = 6 }
allowed_namespaces    = ["shop"]
llm                   = { provider = "bedrock", model = "anthropic.claude-3-5-haiku-20241022-v1:0" }
log_retention_days    = 30
remediate_concurrency = 3
alarm_emails          = []
