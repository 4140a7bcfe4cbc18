output "webhook_url" {
  description = "Alertmanager's webhook URL (POST /alerts)."
  value       = module.api.webhook_url
}

output "slack_interactivity_url" {
  description = "The Slack app's interactivity request URL."
  value       = module.api.slack_interactivity_url
}

output "amp_topic_arn" {
  description = "The SNS topic for AMP's alert manager definition."
  value       = module.api.amp_topic_arn
}

output "secret_arns" {
  description = "The secrets whose values to set after the first apply."
  value       = module.data.secret_arns
}

output "cluster_name" {
  description = "The EKS cluster this platform created."
  value       = module.eks.name
}

output "clusters" {
  description = "Every cluster selfheal remediates (its own and var.clusters), with region and namespaces; alerts for others are refused."
  value       = module.policy.clusters
}

output "alertmanager_receiver" {
  description = "The Alertmanager receiver to paste (the token file holds the webhook-token secret's value)."
  value       = <<-EOT
    receivers:
      - name: selfheal
        webhook_configs:
          - url: ${module.api.webhook_url}
            send_resolved: true
            max_alerts: 0
            http_config:
              authorization:
                type: Bearer
                credentials_file: /etc/alertmanager/secrets/selfheal-token
  EOT
}
