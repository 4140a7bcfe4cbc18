# The functions' access to one EKS cluster (authentication mode API): remediate's role in the
# remediator group and the readers' roles in the reader group, the Kubernetes groups k8s/'s RBAC
# binds, plus EKS's view policy for the readers scoped to the cluster's namespaces. One instance
# per cluster selfheal remediates, in the cluster's own region.

data "aws_partition" "current" {}

# remediate's role in the remediator group k8s/base/remediator/rbac.yaml binds (namespaced Roles
# for the runbooks, a ClusterRole for nodes and eviction), with no access policy: RBAC alone
# decides what it may do. The health check's and the analyzer's in the reader group (pods, logs,
# events, deployments, replicasets, nodes).
locals {
  entries = merge(
    { for f, arn in var.remediator_roles : f => { arn = arn, group = var.remediator_group } },
    { for f, arn in var.reader_roles : f => { arn = arn, group = var.reader_group } },
  )
}

resource "aws_eks_access_entry" "this" {
  for_each          = local.entries
  region            = var.region
  cluster_name      = var.cluster_name
  principal_arn     = each.value.arn
  kubernetes_groups = [each.value.group]
  type              = "STANDARD"
}

# The readers also get EKS's view policy, limited to the cluster's namespaces.
resource "aws_eks_access_policy_association" "reader" {
  for_each      = var.reader_roles
  region        = var.region
  cluster_name  = var.cluster_name
  principal_arn = aws_eks_access_entry.this[each.key].principal_arn
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
  access_scope {
    type       = "namespace"
    namespaces = var.namespaces
  }
}
