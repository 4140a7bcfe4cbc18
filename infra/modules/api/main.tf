# The way in: an HTTP API (POST /alerts for Alertmanager, POST /slack/actions for Slack's
# interactivity) with access logs and throttling, and the SNS topic Amazon Managed Prometheus's
# alert manager publishes to, subscribed by ingest with a dead-letter queue for deliveries
# that keep failing.

data "aws_caller_identity" "current" {}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "selfheal: alerts in, Slack approvals in"
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days): prod keeps a year or more, dev 30 days on purpose.
  name              = "/${var.name}/api-access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttle.rate
    throttling_burst_limit = var.throttle.burst
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      route     = "$context.routeKey"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      error     = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each               = { ingest = var.ingest, approval = var.approval }
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = each.value.arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 10000
}

resource "aws_apigatewayv2_route" "alerts" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "POST /alerts"
  target    = "integrations/${aws_apigatewayv2_integration.function["ingest"].id}"
  #checkov:skip=CKV_AWS_309:ingest authenticates every request itself (bearer token or HMAC, checked against Secrets Manager), as Alertmanager's webhook can present it.
}

resource "aws_apigatewayv2_route" "slack" {
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "POST /slack/actions"
  target    = "integrations/${aws_apigatewayv2_integration.function["approval"].id}"
  #checkov:skip=CKV_AWS_309:Slack signs each request; approval verifies the signature and its timestamp with the signing secret.
}

resource "aws_lambda_permission" "api" {
  for_each      = { ingest = var.ingest, approval = var.approval }
  statement_id  = "api-gateway"
  action        = "lambda:InvokeFunction"
  function_name = each.value.name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

resource "aws_sns_topic" "amp" {
  name              = "${var.name}-amp-alerts"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "amp" {
  statement {
    actions   = ["sns:Publish", "sns:GetTopicAttributes"]
    resources = [aws_sns_topic.amp.arn]
    principals {
      type        = "Service"
      identifiers = ["aps.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "amp" {
  arn    = aws_sns_topic.amp.arn
  policy = data.aws_iam_policy_document.amp.json
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-amp-alerts-dlq"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600
}

data "aws_iam_policy_document" "dlq" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.amp.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

resource "aws_sns_topic_subscription" "ingest" {
  topic_arn      = aws_sns_topic.amp.arn
  protocol       = "lambda"
  endpoint       = var.ingest.arn
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq.arn })
}

resource "aws_lambda_permission" "sns" {
  statement_id  = "amp-sns"
  action        = "lambda:InvokeFunction"
  function_name = var.ingest.name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.amp.arn
}
