output "webhook_url" {
  description = "Alertmanager's webhook URL (POST /alerts)."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}/alerts"
}

output "slack_interactivity_url" {
  description = "The Slack app's interactivity request URL (POST /slack/actions)."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}/slack/actions"
}

output "amp_topic_arn" {
  description = "The SNS topic to name in AMP's alert manager definition."
  value       = aws_sns_topic.amp.arn
}

output "dlq_name" {
  description = "The dead-letter queue of AMP deliveries ingest kept refusing."
  value       = aws_sqs_queue.dlq.name
}

output "api_id" {
  description = "The HTTP API's id (for alarms)."
  value       = aws_apigatewayv2_api.this.id
}
