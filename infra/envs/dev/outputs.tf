output "webhook_url" {
  description = "Alertmanager's webhook URL (POST /alerts)."
  value       = module.selfheal.webhook_url
}

output "slack_interactivity_url" {
  description = "The Slack app's interactivity request URL."
  value       = module.selfheal.slack_interactivity_url
}

output "amp_topic_arn" {
  description = "The SNS topic for AMP's alert manager definition."
  value       = module.selfheal.amp_topic_arn
}

output "secret_arns" {
  description = "The secrets whose values to set after the first apply."
  value       = module.selfheal.secret_arns
}

output "alertmanager_receiver" {
  description = "The Alertmanager receiver to paste."
  value       = module.selfheal.alertmanager_receiver
}
