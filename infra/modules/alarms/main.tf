# Alarms on selfheal itself, to one SNS topic: executions that fail or escalate, the ingest
# answering 5xx, throttled or failing functions, and AMP deliveries in the dead-letter queue.
# selfheal heals the cluster; these tell a human when selfheal needs healing.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.key
}

locals {
  actions = [aws_sns_topic.alarms.arn]
  # Every alarm fires on a sum (or maximum) above its threshold in 5-minute periods; a missing
  # datapoint is "nothing happened".
  alarms = merge(
    {
      executions-failed = {
        description = "A remediation execution failed (a state errored past its Catch): the incident may be open with no one told."
        namespace   = "AWS/States"
        metric      = "ExecutionsFailed"
        dimensions  = { StateMachineArn = var.state_machine_arn }
        statistic   = "Sum"
        periods     = 1
        threshold   = 0
        ok          = true
      }
      incidents-escalated = {
        description = "Incidents selfheal escalated to a human (the audit's EMF metric selfheal/Incidents, outcome escalated)."
        namespace   = "selfheal"
        metric      = "Incidents"
        dimensions  = { outcome = "escalated" }
        statistic   = "Sum"
        periods     = 1
        threshold   = 0
        ok          = false
      }
      ingest-5xx = {
        description = "The API answered 5xx: alerts may not become incidents (Alertmanager retries; AMP deliveries go to the DLQ)."
        namespace   = "AWS/ApiGateway"
        metric      = "5xx"
        dimensions  = { ApiId = var.api_id, Stage = "$default" }
        statistic   = "Sum"
        periods     = 1
        threshold   = 0
        ok          = true
      }
      amp-dlq = {
        description = "AMP alert deliveries ingest kept refusing wait in the dead-letter queue."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = var.dlq_name }
        statistic   = "Maximum"
        periods     = 1
        threshold   = 0
        ok          = true
      }
    },
    { for k, f in var.function_names : "${k}-throttles" => {
      description = "${f} was throttled: its reserved concurrency is spent."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = f }
      statistic   = "Sum"
      periods     = 1
      threshold   = 0
      ok          = false
    } },
    { for k, f in var.function_names : "${k}-errors" => {
      description = "${f} failed invocations 3 periods running (Step Functions retries and catches; repeated failures need a look)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = f }
      statistic   = "Sum"
      periods     = 3
      threshold   = 2
      ok          = false
    } },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = each.value.ok ? local.actions : []
}
