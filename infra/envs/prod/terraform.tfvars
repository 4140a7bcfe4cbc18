# The prod environment: a NAT gateway per zone, six nodes, a year of logs.
# Values for your account (admin_role_arns, slack, approvers, other clusters) go in a file of
# your own, passed after this one: scripts/deploy prod --var-file my.tfvars.
environment           = "prod"
region                = "eu-west-1"
azs                   = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
nat_gateways          = 3
node_count            = { desired = 6, min = 3, max = 12 }
allowed_namespaces    = ["shop"]
llm                   = { provider = "bedrock", model = "anthropic.claude-3-5-haiku-20241022-v1:0" }
log_retention_days    = 365
remediate_concurrency = 5
alarm_emails          = ["sre-oncall@example.com"]
