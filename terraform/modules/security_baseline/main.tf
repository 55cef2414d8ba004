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

# Least privilege per environment: a test-environment job cannot touch production's services or roles. Every
# action below is one the pipeline calls (tests/aws/test_least_privilege.py records them during the aws
# end-to-end runs and checks them against this document). The only "*" resources are actions AWS does not scope
# to a resource (service authorization reference): ECR login, task definition registration and description,
# the registry's replication settings, ELB describe calls and CloudWatch metric reads.
data "aws_iam_policy_document" "jenkins" {
  for_each = var.jenkins_roles

  statement {
    sid = "Unscoped"
    # None of these has resource-level permissions. RegisterTaskDefinition is the only write: a task definition
    # runs nothing until UpdateService (scoped below) points a service at it, and the roles it may name are
    # limited by PassTaskRoles.
    actions = [
      "ecr:DescribeRegistry", "ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
      "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetHealth",
    ]
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

  dynamic "statement" {
    for_each = length(each.value.ecr_pull_repository_arns) > 0 ? [1] : []
    content {
      sid       = "EcrPullBaseImage"
      actions   = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer"]
      resources = each.value.ecr_pull_repository_arns
    }
  }

  # Tags on a new task definition (gantry:sha, gantry:digest) are authorized as ecs:TagResource on create.
  statement {
    sid       = "TagNewTaskDefinitions"
    actions   = ["ecs:TagResource"]
    resources = each.value.task_definition_arns

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RegisterTaskDefinition"]
    }
  }

  statement {
    sid       = "Services"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = each.value.ecs_service_arns
  }

  statement {
    sid       = "Clusters"
    actions   = ["ecs:DescribeClusters"]
    resources = each.value.ecs_cluster_arns
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

  # The primary copy takes `gantry source`'s push; mirroring pulls it and pushes the secondary; builds and
  # migrations fetch from the primary; both copies' refs are compared after mirroring.
  statement {
    sid       = "SourceRead"
    actions   = ["codecommit:GetRepository", "codecommit:GitPull"]
    resources = each.value.codecommit_arns
  }

  statement {
    sid       = "SourcePush"
    actions   = ["codecommit:GitPush"]
    resources = each.value.codecommit_arns
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

  # Approval and staging records: SecureString parameters, created once and never overwritten (records.py
  # writes with Overwrite=false; the Deny below makes that the role's limit, not the code's choice). Their key
  # lets this role encrypt and decrypt through SSM only (kms_key `service_users`).
  statement {
    sid       = "Records"
    actions   = ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"]
    resources = each.value.records_parameter_arns
  }

  statement {
    sid       = "RecordsAreCreateOnly"
    effect    = "Deny"
    actions   = ["ssm:PutParameter"]
    resources = each.value.records_parameter_arns

    condition {
      test     = "StringEquals"
      variable = "ssm:Overwrite"
      values   = ["true"]
    }
  }

  # Who may sign approvals is in the approval policy parameters: this role reads them and can never change one
  # (it would add its own key); only the approval administrators write them.
  statement {
    sid       = "ApprovalPolicyRead"
    actions   = ["ssm:GetParameter"]
    resources = each.value.approval_policy_parameter_arns
  }

  statement {
    sid    = "ApprovalPolicyIsNotTheDeployersToChange"
    effect = "Deny"
    actions = [
      "ssm:AddTagsToResource", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:LabelParameterVersion",
      "ssm:PutParameter", "ssm:RemoveTagsFromResource", "ssm:UnlabelParameterVersion",
    ]
    resources = each.value.approval_policy_parameter_arns
  }

  # Approvals are SSH signatures by the approvers' own keys; the deploy role signs nothing, with any key.
  statement {
    sid       = "NeverSigns"
    effect    = "Deny"
    actions   = ["kms:GenerateMac", "kms:Sign"]
    resources = ["*"]
  }

  # Deploy leases: the role's own items of the Terraform lock table (partition key under lease_key_prefix),
  # never Terraform's lock items. The table's customer managed key is used through DynamoDB for it only.
  statement {
    sid       = "Leases"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [each.value.lease_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["${each.value.lease_key_prefix}*"]
    }
  }

  # DynamoDB decrypts the table key with the caller's permissions (and caches it); item writes need no more.
  statement {
    sid       = "LeaseTableKey"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${split(":", each.value.lease_table_arn)[3]}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${split(":", each.value.lease_table_arn)[3]}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:dynamodb:tableName"
      values   = [split("/", each.value.lease_table_arn)[1]]
    }
  }

  # `gantry migrate` reads the database's master credentials (to run the migrations) and the runtime role's (to
  # set that role's password); Secrets Manager decrypts them with the database's key on the role's behalf, for
  # these secrets only.
  dynamic "statement" {
    for_each = length(each.value.migration_secret_arns) > 0 ? [1] : []
    content {
      sid       = "MigrationCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = each.value.migration_secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(each.value.migration_secret_arns) > 0 ? [1] : []
    content {
      sid       = "MigrationCredentialsKey"
      actions   = ["kms:Decrypt"]
      resources = distinct([for arn in each.value.migration_secret_arns : "arn:${local.partition}:kms:${split(":", arn)[3]}:${local.account_id}:key/*"])

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = distinct([for arn in each.value.migration_secret_arns : "secretsmanager.${split(":", arn)[3]}.amazonaws.com"])
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:SecretARN"
        values   = each.value.migration_secret_arns
      }
    }
  }

  # `gantry dr drill` moves the database writer with the traffic: switchover there and back, failover
  # (AllowDataLoss) for a real outage. Both need the global cluster and the target cluster.
  dynamic "statement" {
    for_each = length(each.value.rds_global_cluster_arns) > 0 ? [1] : []
    content {
      sid       = "GlobalDatabaseFailover"
      actions   = ["rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"]
      resources = concat(each.value.rds_global_cluster_arns, each.value.rds_cluster_arns)
    }
  }

  # The drill's fault (the primary record's health check inverted, or its alarm set to ALARM) and what it reads
  # back: the failover record pair and the standby's replication lag.
  dynamic "statement" {
    for_each = length(each.value.dr_health_check_arns) > 0 ? [1] : []
    content {
      sid       = "DrillRoute53"
      actions   = ["route53:GetHealthCheck", "route53:GetHealthCheckStatus", "route53:ListResourceRecordSets", "route53:UpdateHealthCheck"]
      resources = concat(each.value.dr_health_check_arns, each.value.dr_hosted_zone_arns)
    }
  }

  dynamic "statement" {
    for_each = length(each.value.dr_health_check_arns) > 0 ? [1] : []
    content {
      sid       = "DrillAlarmState"
      actions   = ["cloudwatch:SetAlarmState"]
      resources = each.value.alarm_arns
    }
  }

  dynamic "statement" {
    for_each = length(each.value.dr_health_check_arns) > 0 ? [1] : []
    content {
      sid = "DrillMetrics"
      # GetMetricStatistics has no resource-level permissions; it reads metrics only.
      actions   = ["cloudwatch:GetMetricStatistics"]
      resources = ["*"]
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

# The approval policies (who may sign production approvals) are written by this role only: the deploy roles read
# them and are denied every write, so no pipeline credential can add a signer.
data "aws_iam_policy_document" "approval_admin_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = length(var.approval_admin_principal_arns) > 0 ? var.approval_admin_principal_arns : ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

data "aws_iam_policy_document" "approval_admin" {
  statement {
    sid = "ApprovalPolicies"
    actions = [
      "ssm:AddTagsToResource", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:GetParameterHistory",
      "ssm:LabelParameterVersion", "ssm:PutParameter", "ssm:RemoveTagsFromResource",
    ]
    resources = var.approval_policy_parameter_arns
  }
}

resource "aws_iam_role" "approval_admin" {
  count = length(var.approval_admin_principal_arns) > 0 ? 1 : 0

  name                 = "${var.name}-approval-policy-admin"
  assume_role_policy   = data.aws_iam_policy_document.approval_admin_assume.json
  max_session_duration = 3600
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = length(var.approval_policy_parameter_arns) > 0
      error_message = "approval_admin_principal_arns needs approval_policy_parameter_arns: the parameters the role writes."
    }
  }
}

resource "aws_iam_role_policy" "approval_admin" {
  count = length(var.approval_admin_principal_arns) > 0 ? 1 : 0

  name   = "write-approval-policies"
  role   = aws_iam_role.approval_admin[0].id
  policy = data.aws_iam_policy_document.approval_admin.json
}
