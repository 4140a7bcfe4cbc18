# One Lambda function per handler (provided.al2023, arm64, the zip cargo lambda builds), each
# with its own role whose policy grants exactly the AWS API operations its code calls
# (scripts/lib/least_privilege.py derives them from the source and compares), the environment
# its code reads and nothing else, its own log group, X-Ray tracing, and the VPC's private
# subnets. remediate has reserved concurrency: a flood of alerts cannot become a flood of
# cluster changes.

data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  table_arns = [var.table.arn, "${var.table.arn}/index/*"]
  # The cluster-reaching functions' view of the clusters: name -> region, and the ARNs.
  eks_clusters = jsonencode({ for name, c in var.clusters : name => c.region })
  cluster_arns = [for c in values(var.clusters) : c.arn]
  secrets      = var.secret_arns
  slack_env = var.slack.mode == "bot" ? {
    SLACK_BOT_TOKEN_SECRET_ID = local.secrets["slack-bot-token"]
    SLACK_CHANNEL             = var.slack.channel
    } : {
    SLACK_WEBHOOK_SECRET_ID = local.secrets["slack-bot-token"]
  }
  llm_env = var.llm.provider == "rules" ? {} : {
    LLM_PROVIDER          = var.llm.provider
    LLM_MODEL             = var.llm.model
    LLM_BASE_URL          = var.llm.base_url
    LLM_API_KEY_SECRET_ID = var.llm.provider == "bedrock" ? "" : local.secrets["llm-api-key"]
    LLM_MAX_TOKENS        = tostring(var.llm.max_tokens)
    LLM_TIMEOUT_SECONDS   = tostring(var.llm.timeout_seconds)
    LLM_TOKEN_BUDGET      = tostring(var.llm.token_budget)
  }

  # Per function: what it does, its timeout and memory, the environment its code reads, and the
  # IAM statements for the operations its code calls (action list -> resources).
  functions = {
    ingest = {
      description = "POST /alerts and AMP's SNS deliveries: alerts to incidents, one execution each."
      timeout     = 10
      memory      = 256
      concurrency = 20
      environment = {
        INCIDENTS_TABLE   = var.table.name
        STATE_MACHINE_ARN = var.state_machine_arn
        WEBHOOK_SECRET_ID = local.secrets["webhook-token"]
        SNS_TOPIC_ARN     = var.amp_topic_arn
        SELFHEAL_POLICY   = var.policy_json
      }
      statements = [
        { actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources = local.table_arns },
        { actions = ["states:StartExecution"], resources = [var.state_machine_arn] },
        { actions = ["secretsmanager:GetSecretValue"], resources = [local.secrets["webhook-token"]] },
        { actions = ["kms:Decrypt"], resources = [var.kms_key_arn] },
      ]
    }
    audit = {
      description = "The workflow's audit: opens and closes incidents, keeps the guardrail state, writes the S3 record."
      timeout     = 15
      memory      = 256
      concurrency = 20
      environment = {
        INCIDENTS_TABLE = var.table.name
        RECORDS_BUCKET  = var.bucket.name
        SELFHEAL_POLICY = var.policy_json
      }
      statements = [
        { actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources = local.table_arns },
        { actions = ["s3:PutObject"], resources = ["${var.bucket.arn}/incidents/*"] },
        { actions = ["kms:GenerateDataKey"], resources = [var.kms_key_arn] },
      ]
    }
    approval = {
      description = "Posts approval requests to Slack and turns the on-call's click into the task token's result."
      timeout     = 10
      memory      = 256
      concurrency = 5
      environment = merge(local.slack_env, {
        INCIDENTS_TABLE         = var.table.name
        SLACK_SIGNING_SECRET_ID = local.secrets["slack-signing-secret"]
        APPROVERS               = join(",", var.approvers)
      })
      statements = [
        { actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources = local.table_arns },
        # SendTaskSuccess/Failure have no resource type: a task token is not an ARN.
        { actions = ["states:SendTaskSuccess", "states:SendTaskFailure"], resources = ["*"] },
        { actions = ["secretsmanager:GetSecretValue"], resources = [local.secrets["slack-signing-secret"], local.secrets["slack-bot-token"]] },
        { actions = ["kms:Decrypt"], resources = [var.kms_key_arn] },
      ]
    }
    remediate = {
      description = "Runs one runbook step against EKS (restart, scale, rollback, cordon and drain), re-checking guardrails and the symptom."
      timeout     = 60
      memory      = 256
      concurrency = var.remediate_concurrency
      environment = {
        EKS_CLUSTERS    = local.eks_clusters
        SELFHEAL_POLICY = var.policy_json
      }
      statements = [
        { actions = ["eks:DescribeCluster"], resources = local.cluster_arns },
      ]
    }
    health-check = {
      description = "Checks a target's health after a step: rollout, readiness, restarts, the SLI in Prometheus."
      timeout     = 30
      memory      = 256
      concurrency = 10
      environment = {
        EKS_CLUSTERS   = local.eks_clusters
        PROMETHEUS_URL = var.prometheus_url
      }
      statements = [
        { actions = ["eks:DescribeCluster"], resources = local.cluster_arns },
      ]
    }
    analyzer = {
      description = "Gathers redacted evidence, asks the model (or the rules) for the cause, posts to Slack. Never changes the cluster."
      timeout     = 60
      memory      = 512
      concurrency = 5
      environment = merge(local.slack_env, local.llm_env, {
        EKS_CLUSTERS   = local.eks_clusters
        PROMETHEUS_URL = var.prometheus_url
        LOKI_URL       = var.loki_url
        REDACT_IPS     = tostring(var.redact_ips)
      })
      statements = concat(
        [
          { actions = ["eks:DescribeCluster"], resources = local.cluster_arns },
          { actions = ["secretsmanager:GetSecretValue"], resources = compact([local.secrets["slack-bot-token"], contains(["anthropic", "openai"], var.llm.provider) ? local.secrets["llm-api-key"] : ""]) },
          { actions = ["kms:Decrypt"], resources = [var.kms_key_arn] },
        ],
        var.llm.provider == "bedrock" ? [
          # Converse is authorized as InvokeModel on the foundation model.
          { actions = ["bedrock:InvokeModel"], resources = ["arn:${local.partition}:bedrock:*::foundation-model/${var.llm.model}"] },
        ] : [],
      )
    }
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions
  dynamic "statement" {
    for_each = each.value.statements
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "code"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

# What the Lambda service needs for any function: its log group, X-Ray, the VPC's network
# interfaces (not the code's calls, so kept apart from the policy above).
data "aws_iam_policy_document" "runtime" {
  for_each = local.functions
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
  statement {
    # X-Ray's segment APIs have no resource type.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
  statement {
    # Lambda creates and removes the function's network interfaces; EC2 has no resource-level
    # permissions for the Describe call, and the rest are bound to this VPC's subnets.
    actions   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:Vpc"
      values   = ["arn:${local.partition}:ec2:*:*:vpc/${var.vpc_id}"]
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  for_each = local.functions
  name     = "runtime"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.runtime[each.key].json
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days): prod keeps a year or more, dev 30 days on purpose.
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_security_group" "function" {
  name        = "${var.name}-functions"
  description = "The functions: no inbound, HTTPS out (AWS endpoints, the EKS API, Slack, the LLM)"
  vpc_id      = var.vpc_id
  egress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "Prometheus and Loki inside the VPC"
    from_port   = 80
    to_port     = 9090
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}

resource "aws_lambda_function" "function" {
  for_each         = local.functions
  function_name    = "${var.name}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = "${var.package_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${var.package_dir}/${each.key}/bootstrap.zip")
  timeout          = each.value.timeout
  memory_size      = each.value.memory
  kms_key_arn      = var.kms_key_arn

  reserved_concurrent_executions = each.value.concurrency

  environment {
    # Unset is how the code reads "not configured": empty values are left out.
    variables = { for k, v in each.value.environment : k => v if v != "" }
  }

  tracing_config {
    mode = "Active"
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.function.id]
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  #checkov:skip=CKV_AWS_116:Failures are handled by the caller: Step Functions retries and catches every task, API Gateway answers 5xx and Alertmanager resends; a DLQ would hold nothing anyone replays.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile and a signed artifact in S3; the zips are built and hashed by the deploy (source_code_hash).
  depends_on = [aws_iam_role_policy.runtime]
}
