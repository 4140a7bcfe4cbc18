# The whole platform for one environment: network, data, EKS, the functions, the workflow, the
# way in and the alarms. The root of every environment: infra/envs/ENV hold its values
# (terraform.tfvars) and its state's key (backend.hcl).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name   = "selfheal-${var.environment}"
  prefix = "arn:${data.aws_partition.current.partition}"
  where  = "${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  # Known before they exist, so the functions and what calls them need no cycle.
  state_machine_arn = "${local.prefix}:states:${local.where}:stateMachine:${local.name}-remediation"
  amp_topic_arn     = "${local.prefix}:sns:${local.where}:${local.name}-amp-alerts"
  # k8s/overlays/ENV/settings.yaml: the groups its RBAC binds (scripts/infra-check compares).
  remediator_group = "${local.name}-remediators"
  reader_group     = "${local.name}-readers"
  repo             = "${path.module}/../.."
}

module "policy" {
  source      = "../modules/policy"
  policy_file = "${local.repo}/statemachines/policy.yaml"
  own         = { name = local.name, region = var.region, namespaces = var.allowed_namespaces }
  others      = var.clusters
}

module "data" {
  source          = "../modules/data"
  name            = local.name
  admin_role_arns = var.admin_role_arns
}

module "network" {
  source       = "../modules/network"
  name         = local.name
  cidr         = var.vpc_cidr
  azs          = var.azs
  nat_gateways = var.nat_gateways
  kms_key_arn  = module.data.kms_key_arn
}

module "eks" {
  source              = "../modules/eks"
  name                = local.name
  subnet_ids          = module.network.private_subnet_ids
  public_access_cidrs = var.api_public_access_cidrs
  kms_key_arn         = module.data.kms_key_arn
  node_count          = var.node_count
  log_retention_days  = var.log_retention_days
}

# The functions' access entries in every cluster, each in its own region.
module "access" {
  source   = "../modules/access"
  for_each = module.policy.clusters
  # The own cluster by the module's output, so its entries wait for it.
  cluster_name     = each.key == local.name ? module.eks.name : each.key
  region           = each.value.region
  namespaces       = each.value.namespaces
  remediator_roles = { remediate = module.functions.role_arns["remediate"] }
  reader_roles     = { for f in ["health-check", "analyzer"] : f => module.functions.role_arns[f] }
  remediator_group = local.remediator_group
  reader_group     = local.reader_group
}

module "functions" {
  source            = "../modules/functions"
  name              = local.name
  package_dir       = var.package_dir
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.private_subnet_ids
  kms_key_arn       = module.data.kms_key_arn
  table             = { name = module.data.table_name, arn = module.data.table_arn }
  bucket            = { name = module.data.bucket_name, arn = module.data.bucket_arn }
  secret_arns       = module.data.secret_arns
  state_machine_arn = local.state_machine_arn
  # The clusters by name, with their regions and ARNs, known before the own cluster exists:
  # its access entries need the roles.
  clusters = { for name, c in module.policy.clusters : name => {
    region = c.region
    arn    = "${local.prefix}:eks:${c.region}:${data.aws_caller_identity.current.account_id}:cluster/${name}"
  } }
  amp_topic_arn         = local.amp_topic_arn
  policy_json           = module.policy.json
  prometheus_url        = var.prometheus_url
  loki_url              = var.loki_url
  slack                 = var.slack
  approvers             = var.approvers
  llm                   = var.llm
  log_retention_days    = var.log_retention_days
  remediate_concurrency = var.remediate_concurrency
}

module "orchestration" {
  source             = "../modules/orchestration"
  name               = local.name
  definition_file    = "${local.repo}/statemachines/remediation.asl.json"
  function_arns      = module.functions.arns
  table              = { name = module.data.table_name, arn = module.data.table_arn }
  kms_key_arn        = module.data.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "api" {
  source             = "../modules/api"
  name               = local.name
  ingest             = { name = module.functions.names["ingest"], arn = module.functions.arns["ingest"] }
  approval           = { name = module.functions.names["approval"], arn = module.functions.arns["approval"] }
  kms_key_arn        = module.data.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "alarms" {
  source            = "../modules/alarms"
  name              = local.name
  kms_key_arn       = module.data.kms_key_arn
  state_machine_arn = module.orchestration.arn
  api_id            = module.api.api_id
  function_names    = module.functions.names
  dlq_name          = module.api.dlq_name
  alarm_emails      = var.alarm_emails
}
