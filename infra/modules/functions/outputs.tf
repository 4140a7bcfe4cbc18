output "arns" {
  description = "Function ARNs by handler: ingest, audit, approval, remediate, health-check, analyzer."
  value       = { for k, f in aws_lambda_function.function : k => f.arn }
}

output "names" {
  description = "Function names by handler."
  value       = { for k, f in aws_lambda_function.function : k => f.function_name }
}

output "role_arns" {
  description = "Execution role ARNs by handler (the EKS access entries map them)."
  value       = { for k, r in aws_iam_role.function : k => r.arn }
}
