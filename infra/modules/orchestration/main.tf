# The remediation workflow: statemachines/remediation.asl.json rendered with this stack's
# function names and table (the same template crates/states runs locally with the lab's), a
# STANDARD state machine with ALL logging including execution data, X-Ray tracing, and a role
# that may invoke only these functions and read only this table.

locals {
  # The template's placeholders; the lab fills the same ones (crates/lab).
  template_vars = {
    audit_function        = var.function_arns["audit"]
    approval_function     = var.function_arns["approval"]
    remediate_function    = var.function_arns["remediate"]
    health_check_function = var.function_arns["health-check"]
    analyzer_function     = var.function_arns["analyzer"]
    incidents_table       = var.table.name
  }
  invoked = [for k in ["audit", "approval", "remediate", "health-check", "analyzer"] : var.function_arns[k]]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-remediation"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = concat(local.invoked, [for a in local.invoked : "${a}:*"])
  }
  statement {
    # ReadKillSwitch: the optimized dynamodb:getItem integration.
    actions   = ["dynamodb:GetItem"]
    resources = [var.table.arn]
  }
  statement {
    # Log delivery and X-Ray have no resource-level permissions.
    actions   = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days): prod keeps a year or more, dev 30 days on purpose.
  name              = "/aws/vendedlogs/states/${var.name}-remediation"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sfn_state_machine" "this" {
  name       = "${var.name}-remediation"
  type       = "STANDARD"
  role_arn   = aws_iam_role.this.arn
  definition = templatefile(var.definition_file, local.template_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.this]
}
