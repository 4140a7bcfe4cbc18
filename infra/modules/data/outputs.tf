output "kms_key_arn" {
  description = "The customer key."
  value       = aws_kms_key.this.arn
}

output "table_name" {
  description = "The incident table."
  value       = aws_dynamodb_table.incidents.name
}

output "table_arn" {
  description = "The incident table's ARN."
  value       = aws_dynamodb_table.incidents.arn
}

output "bucket_name" {
  description = "The audit bucket."
  value       = aws_s3_bucket.audit.bucket
}

output "bucket_arn" {
  description = "The audit bucket's ARN."
  value       = aws_s3_bucket.audit.arn
}

output "secret_arns" {
  description = "Secrets by name: webhook-token, slack-signing-secret, slack-bot-token, llm-api-key."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}
