output "topic_arn" {
  description = "The alarm topic."
  value       = aws_sns_topic.alarms.arn
}
