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

data "aws_iam_policy_document" "jenkins_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.jenkins_agent_principal_arns
    }
  }
}

# Least privilege per environment: a test-environment job cannot touch production's services or roles.
data "aws_iam_policy_document" "jenkins" {
  for_each = var.jenkins_roles

  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken has no resource-level permissions; the token only opens repositories allowed below.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPushPull"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
      "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = each.value.ecr_repository_arns
  }

  statement {
    sid = "TaskDefinitions"
    # These ECS actions have no resource-level permissions (AWS service authorization reference).
    actions   = ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "Services"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = each.value.ecs_service_arns
  }

  statement {
    sid       = "Clusters"
    actions   = ["ecs:DescribeClusters", "ecs:ListTasks", "ecs:DescribeTasks"]
    resources = concat(each.value.ecs_cluster_arns, [for c in each.value.ecs_cluster_arns : "${replace(c, ":cluster/", ":task/")}/*"])
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = each.value.pass_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid = "LoadBalancerHealth"
    # Describe calls of Elastic Load Balancing have no resource-level permissions.
    actions   = ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"]
  }

  statement {
    sid       = "SourceRead"
    actions   = ["codecommit:GitPull", "codecommit:GetBranch", "codecommit:GetRepository"]
    resources = concat(each.value.codecommit_read_arns, each.value.codecommit_write_arns)
  }

  statement {
    sid       = "SourceMirrorWrite"
    actions   = ["codecommit:GitPush"]
    resources = each.value.codecommit_write_arns
  }

  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = each.value.sns_topic_arns
  }

  statement {
    sid       = "Alarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = each.value.alarm_arns
  }

  # `gantry dr drill` moves the database writer with the traffic: switchover there and back, failover
  # (AllowDataLoss) for a real outage. Both need the global cluster and the target cluster.
  dynamic "statement" {
    for_each = length(each.value.rds_global_cluster_arns) > 0 ? [1] : []
    content {
      sid       = "GlobalDatabaseFailover"
      actions   = ["rds:SwitchoverGlobalCluster", "rds:FailoverGlobalCluster", "rds:DescribeGlobalClusters", "rds:DescribeDBClusters"]
      resources = concat(each.value.rds_global_cluster_arns, each.value.rds_cluster_arns)
    }
  }
}

resource "aws_iam_role" "jenkins" {
  for_each = var.jenkins_roles

  name                 = "${var.name}-${each.key}-jenkins"
  assume_role_policy   = data.aws_iam_policy_document.jenkins_assume.json
  max_session_duration = 3600
  tags                 = merge(var.tags, { Environment = each.key })
}

resource "aws_iam_role_policy" "jenkins" {
  for_each = var.jenkins_roles

  name   = "deploy-${each.key}"
  role   = aws_iam_role.jenkins[each.key].id
  policy = data.aws_iam_policy_document.jenkins[each.key].json
}
