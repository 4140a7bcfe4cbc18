# selfheal's state: the incident table (DynamoDB), the audit bucket (S3, Object Lock for the
# incident records), the secrets the functions read (Secrets Manager), all encrypted with one
# customer key whose use is limited to these services in this account.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  # The secrets the functions read: the webhook token (ingest), the Slack signing secret
  # (approval), the Slack bot token or incoming-webhook URL (approval, analyzer), the LLM API key
  # (analyzer). Their values are set outside Terraform (see infra/README.md), never in state.
  secrets = {
    webhook-token        = "Bearer token (and HMAC key) Alertmanager and the AMP forwarder present to POST /alerts."
    slack-signing-secret = "Slack app signing secret: verifies POST /slack/actions."
    slack-bot-token      = "Slack bot token (xoxb-) for chat.postMessage, or an incoming-webhook URL."
    llm-api-key          = "API key of the LLM provider the analyzer calls (Anthropic or OpenAI); unused with Bedrock."
  }
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; administration is limited to admin_role_arns.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; use is limited to these services in this account.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    sid       = "Administer"
    actions   = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = var.admin_role_arns
    }
  }
  statement {
    sid       = "UseThroughTheServices"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [for s in ["dynamodb", "s3", "secretsmanager", "sqs", "sns", "states", "lambda"] :
      "${s}.${data.aws_region.current.region}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account]
    }
  }
  statement {
    sid       = "LogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${local.account}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: incidents, audit records, secrets, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_dynamodb_table" "incidents" {
  name         = "${var.name}-incidents"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "target"
    type = "S"
  }
  attribute {
    name = "first_seen"
    type = "S"
  }

  # "What happened to backend this week": incidents by target, newest last.
  global_secondary_index {
    name            = "by-target"
    hash_key        = "target"
    range_key       = "first_seen"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  deletion_protection_enabled = true
}

resource "aws_s3_bucket" "audit" {
  bucket_prefix       = "${var.name}-audit-"
  object_lock_enabled = true
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per account; the records are also in DynamoDB (PITR).
  #checkov:skip=CKV_AWS_18:Access logging goes to CloudTrail data events, set up per account; a log bucket per stack would be a second bucket to secure.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; the audit function writes the records it has just stored.
}

resource "aws_s3_bucket_versioning" "audit" {
  bucket = aws_s3_bucket.audit.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "audit" {
  bucket                  = aws_s3_bucket.audit.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "audit_bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.audit.arn, "${aws_s3_bucket.audit.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "audit" {
  bucket = aws_s3_bucket.audit.id
  policy = data.aws_iam_policy_document.audit_bucket.json
}

resource "aws_s3_bucket_lifecycle_configuration" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    id     = "incidents"
    status = "Enabled"
    filter {
      prefix = "incidents/"
    }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.incident_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }
  rule {
    id     = "uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# Incident records cannot be changed or deleted for object_lock_days (governance mode: an
# administrator with s3:BypassGovernanceRetention can, on the record).
resource "aws_s3_bucket_object_lock_configuration" "audit" {
  bucket = aws_s3_bucket.audit.id
  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.object_lock_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.audit]
}

resource "aws_secretsmanager_secret" "this" {
  for_each                = local.secrets
  name                    = "${var.name}/${each.key}"
  description             = each.value
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:These are third-party credentials (Slack, the LLM vendor, Alertmanager's token); they are rotated with the vendor, by hand, as infra/README.md describes.
}
