data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  trail_name = "${var.name}-audit"
  trail_arn  = "arn:${local.partition}:cloudtrail:${data.aws_region.current.region}:${local.account_id}:trail/${local.trail_name}"
}

resource "aws_s3_bucket" "trail" {
  #checkov:skip=CKV_AWS_18:this bucket is the audit destination; access to it is itself recorded by CloudTrail data events
  #checkov:skip=CKV_AWS_144:the trail is multi-region already; a second copy is a per-customer retention decision
  #checkov:skip=CKV2_AWS_62:nothing consumes object events; the trail also streams to CloudWatch Logs
  bucket_prefix = "${var.name}-cloudtrail-"
  force_destroy = var.force_destroy_trail_bucket
  tags          = var.tags
}

data "aws_iam_policy_document" "trail_bucket" {
  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.trail.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.trail.arn}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

module "trail_bucket" {
  source = "../s3_bucket_baseline"

  bucket           = aws_s3_bucket.trail.id
  bucket_arn       = aws_s3_bucket.trail.arn
  kms_key_arn      = var.kms_key_arn
  expiration_days  = var.trail_retention_days
  policy_documents = [data.aws_iam_policy_document.trail_bucket.json]
}

resource "aws_cloudwatch_log_group" "trail" {
  name              = "/gantry/${var.name}/cloudtrail"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "trail_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

data "aws_iam_policy_document" "trail_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trail.arn}:log-stream:*"]
  }
}

resource "aws_iam_role" "trail_logs" {
  name               = "${var.name}-cloudtrail-logs"
  assume_role_policy = data.aws_iam_policy_document.trail_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "trail_logs" {
  name   = "write-trail-log-group"
  role   = aws_iam_role.trail_logs.id
  policy = data.aws_iam_policy_document.trail_logs.json
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252:alarms on trail delivery failures come from the CloudWatch Logs integration, not SNS
  name                          = local.trail_name
  s3_bucket_name                = module.trail_bucket.bucket
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.trail.arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.trail_logs.arn
  tags                          = var.tags

  event_selector {
    read_write_type           = "All"
    include_management_events = true
  }

  depends_on = [aws_iam_role_policy.trail_logs]
}

# The pipeline's identities (modules/pipeline_iam renders their trust and permission documents): one role per
# stage, each limited to what that stage calls, with the production guard on every role but production's own.
resource "aws_iam_role" "pipeline" {
  for_each = var.pipeline_roles

  name                 = each.value.name
  path                 = each.value.path
  assume_role_policy   = each.value.trust_policy
  max_session_duration = 3600
  tags                 = merge(var.tags, { PipelineIdentity = each.key })
}

resource "aws_iam_role_policy" "pipeline" {
  for_each = var.pipeline_roles

  name   = "gantry-${each.key}"
  role   = aws_iam_role.pipeline[each.key].id
  policy = each.value.policy
}

# The approval policies (who may sign production approvals) are written by this role only: the pipeline's roles
# read them and are denied every write, so no pipeline credential can add a signer.
resource "aws_iam_role" "approval_admin" {
  count = length(var.approval_admin_principal_arns) > 0 ? 1 : 0

  name = "${var.name}-approval-policy-admin"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ApprovalAdministrators"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { AWS = var.approval_admin_principal_arns }
    }]
  })
  max_session_duration = 3600
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.approval_admin_policy != null
      error_message = "approval_admin_principal_arns needs approval_admin_policy (modules/pipeline_iam's approval_admin_policy output)."
    }
  }
}

resource "aws_iam_role_policy" "approval_admin" {
  count = length(var.approval_admin_principal_arns) > 0 ? 1 : 0

  name   = "write-approval-policies"
  role   = aws_iam_role.approval_admin[0].id
  policy = var.approval_admin_policy
}
