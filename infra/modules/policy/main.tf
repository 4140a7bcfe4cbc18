# The clusters selfheal remediates (the environment's own and the others the `clusters` variable
# names) and the guardrail policy the functions get as SELFHEAL_POLICY: statemachines/policy.yaml
# with those clusters and the namespaces each allows, the lists the access entries are scoped to.
# No provider: scripts/infra-check applies this module on its own and hands the policy to selfheal.

locals {
  clusters = merge(
    { (var.own.name) = { region = var.own.region, namespaces = var.own.namespaces } },
    { for c in var.others : c.name => { region = c.region, namespaces = c.namespaces } },
  )
}

output "clusters" {
  description = "Every cluster by name: region and namespaces."
  value       = local.clusters
}

output "json" {
  description = "The guardrail policy, JSON: alerts for other clusters, or other namespaces of a cluster, are refused."
  value = jsonencode(merge(yamldecode(file(var.policy_file)), {
    default_cluster    = var.own.name
    clusters           = keys(local.clusters)
    cluster_namespaces = { for name, c in local.clusters : name => c.namespaces }
  }))
}
