output "arn" {
  description = "The state machine's ARN."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "The state machine's name."
  value       = aws_sfn_state_machine.this.name
}
