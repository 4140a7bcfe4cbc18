output "name" {
  description = "The cluster's name (one of EKS_CLUSTERS)."
  value       = aws_eks_cluster.this.name
}

output "arn" {
  description = "The cluster's ARN (eks:DescribeCluster is granted on it)."
  value       = aws_eks_cluster.this.arn
}

output "endpoint" {
  description = "The API server's endpoint."
  value       = aws_eks_cluster.this.endpoint
}
