data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  region    = data.aws_region.current.region
  family    = "${var.customer}-${var.environment}-${var.service_name}"
  log_group = "/gantry/${var.customer}/${var.environment}/${var.service_name}"
  # The pipeline renders the same file with the same placeholders for every deployment.
  template = coalesce(var.task_definition_template, "${path.module}/../../../services/${var.service_name}/task-definition.json.tpl")
  rendered = jsondecode(templatefile(local.template, {
    family         = local.family
    container_name = var.service_name
    image          = var.bootstrap_image
    cpu            = var.cpu
    memory         = var.memory
    container_port = var.container_port
    git_sha        = "bootstrap"
    image_digest   = "bootstrap"
    deploy_env     = var.environment
    region         = local.region
    log_group      = local.log_group
    # The bootstrap image has no database; the pipeline's deploys fill both (gantry.taskdef).
    database_url        = ""
    database_secret_arn = ""
  }))
  # As gantry.taskdef does: no secret without a source (ECS refuses one), no empty DATABASE_URL.
  task_definition = merge(local.rendered, {
    containerDefinitions = [
      for container in local.rendered.containerDefinitions : merge(container, {
        secrets     = [for secret in try(container.secrets, []) : secret if secret.valueFrom != ""]
        environment = [for item in try(container.environment, []) : item if !(item.name == "DATABASE_URL" && item.value == "")]
      })
    ]
  })
  # Roles live under one path per environment so the deploy role can pass exactly these (iam:PassRole).
  iam_path   = "/gantry/${var.customer}/${var.environment}/"
  iam_prefix = "${var.service_name}-${local.region}"
  # A protected environment's services carry what gantry checks before any deploy (gantry/targets/aws/target.py):
  # the pipeline's roles cannot tag or untag them (modules/pipeline_iam), so only an apply changes this.
  protection_tags = var.approval_policy_parameter == null ? {} : {
    "gantry:protected"       = "true"
    "gantry:approval-policy" = var.approval_policy_parameter
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.iam_prefix}-exec"
  path               = local.iam_path
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The application calls no AWS API; its task role exists so one can be granted later without a redeploy.
resource "aws_iam_role" "task" {
  name               = "${local.iam_prefix}-task"
  path               = local.iam_path
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

resource "aws_ecs_task_definition" "bootstrap" {
  family                   = local.task_definition.family
  network_mode             = local.task_definition.networkMode
  requires_compatibilities = local.task_definition.requiresCompatibilities
  container_definitions    = jsonencode(local.task_definition.containerDefinitions)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  # Revisions registered by the pipeline must survive `terraform destroy` of this bootstrap revision.
  skip_destroy = true
}

resource "aws_ecs_service" "this" {
  name                               = var.service_name
  cluster                            = var.cluster_name
  task_definition                    = aws_ecs_task_definition.bootstrap.arn
  desired_count                      = var.min_tasks
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  tags                               = merge(var.tags, local.protection_tags)

  capacity_provider_strategy {
    capacity_provider = var.capacity_provider_name
    weight            = 1
    base              = 1
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = var.service_name
    container_port   = var.container_port
  }

  ordered_placement_strategy {
    type  = "spread"
    field = "attribute:ecs.availability-zone"
  }

  lifecycle {
    # The pipeline owns which revision runs (`gantry deploy` registers one per image digest) and
    # autoscaling owns the task count: an apply must never roll either back.
    ignore_changes = [task_definition, desired_count]
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.family}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${local.family}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${var.target_group_arn_suffix}"
    }
  }
}

# The migration task (`gantry migrate`: a one-off task of the release's image) gets the master credentials from
# ECS through its own execution role; the service's execution role cannot read them.
resource "aws_iam_role" "migration_execution" {
  count = length(var.migration_secret_arns) > 0 ? 1 : 0

  name               = "${local.iam_prefix}-migrate-exec"
  path               = local.iam_path
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "migration_execution" {
  count = length(var.migration_secret_arns) > 0 ? 1 : 0

  role       = aws_iam_role.migration_execution[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# ECS resolves `secrets[].valueFrom` with the task's execution role when a task starts: the service's role reads
# the service's secrets, the migration task's role the master credentials, neither the other's.
locals {
  execution_secrets = {
    for name, grant in {
      task-secrets      = { role = aws_iam_role.execution.id, secrets = var.secret_arns }
      migration-secrets = { role = one(aws_iam_role.migration_execution[*].id), secrets = var.migration_secret_arns }
    } : name => grant if length(grant.secrets) > 0
  }
}

data "aws_iam_policy_document" "execution_secrets" {
  for_each = local.execution_secrets

  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = var.secret_kms_key_arns

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  for_each = local.execution_secrets

  name   = each.key
  role   = each.value.role
  policy = data.aws_iam_policy_document.execution_secrets[each.key].json
}

moved {
  from = aws_iam_role_policy.execution_secrets[0]
  to   = aws_iam_role_policy.execution_secrets["task-secrets"]
}
