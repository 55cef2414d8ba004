data "aws_route53_zone" "customer" {
  provider = aws.primary
  name     = local.customer.domain
}

# The key of the pipeline's approval and staging records, made by the global root (one per region, one alias):
# the `records` output hands it to `gantry aws-import` (aws.records_kms_key).
data "aws_kms_alias" "records" {
  provider = aws.primary
  name     = "alias/${local.customer.name}-gantry-records"
}

locals {
  # The health-check numbers both targets share (the local target scales their durations).
  health = yamldecode(file("${path.module}/../../../../config/health-checks.yaml"))
  # The path the load balancers and Route 53 probe is the service's own (`health.path` in its contract).
  contract    = yamldecode(file("${path.module}/../../../../services/${local.customer.service_name}/service.yaml"))
  health_path = try(local.contract.health.path, "/healthz")

  # Both regions get the same stack with the same settings; only the provider and the CIDR differ.
  stack = {
    customer            = local.customer.name
    environment         = var.environment
    service_name        = local.customer.service_name
    domain              = local.customer.domain
    zone_id             = data.aws_route53_zone.customer.zone_id
    ami_ssm_parameter   = local.customer.ami_ssm_parameter
    single_nat_gateway  = !var.production
    deletion_protection = var.production
    min_instances       = var.production ? 2 : 1
    max_instances       = var.production ? 6 : 2
    min_tasks           = var.production ? 2 : 1
    max_tasks           = var.production ? 8 : 2
    bootstrap_image_tag = var.bootstrap_image_tag
    # A production stack is protected: its services name the approval policy (terraform/approvals) that gantry
    # verifies every deploy, migration and DR operation against.
    approval_policy_parameter = var.production ? "/gantry-approval-policy/${local.customer.name}/${local.pipeline_environment}" : null
  }
  pipeline_environment = coalesce(var.pipeline_environment, var.production ? "production" : "staging")
}

module "primary" {
  source    = "../../../modules/region"
  providers = { aws = aws.primary }

  role                      = "primary"
  cidr_block                = var.primary_cidr
  customer                  = local.stack.customer
  environment               = local.stack.environment
  service_name              = local.stack.service_name
  domain                    = local.stack.domain
  zone_id                   = local.stack.zone_id
  ami_ssm_parameter         = local.stack.ami_ssm_parameter
  single_nat_gateway        = local.stack.single_nat_gateway
  deletion_protection       = local.stack.deletion_protection
  min_instances             = local.stack.min_instances
  max_instances             = local.stack.max_instances
  min_tasks                 = local.stack.min_tasks
  max_tasks                 = local.stack.max_tasks
  bootstrap_image_tag       = local.stack.bootstrap_image_tag
  approval_policy_parameter = local.stack.approval_policy_parameter
  health_check = merge(
    { for key in ["interval_seconds", "timeout_seconds", "healthy_threshold", "unhealthy_threshold"] : key => local.health.target_group[key] },
    { path = local.health_path },
  )
  deregistration_delay = local.health.target_group.deregistration_delay_seconds
  # Each region's task reads its own region's entry (secret ARN, key, endpoints).
  database = module.aurora.regions
}

module "secondary" {
  source    = "../../../modules/region"
  providers = { aws = aws.secondary }

  role                      = "secondary"
  cidr_block                = var.secondary_cidr
  customer                  = local.stack.customer
  environment               = local.stack.environment
  service_name              = local.stack.service_name
  domain                    = local.stack.domain
  zone_id                   = local.stack.zone_id
  ami_ssm_parameter         = local.stack.ami_ssm_parameter
  single_nat_gateway        = local.stack.single_nat_gateway
  deletion_protection       = local.stack.deletion_protection
  min_instances             = local.stack.min_instances
  max_instances             = local.stack.max_instances
  min_tasks                 = local.stack.min_tasks
  max_tasks                 = local.stack.max_tasks
  bootstrap_image_tag       = local.stack.bootstrap_image_tag
  approval_policy_parameter = local.stack.approval_policy_parameter
  health_check = merge(
    { for key in ["interval_seconds", "timeout_seconds", "healthy_threshold", "unhealthy_threshold"] : key => local.health.target_group[key] },
    { path = local.health_path },
  )
  deregistration_delay = local.health.target_group.deregistration_delay_seconds
  # Each region's task reads its own region's entry (secret ARN, key, endpoints).
  database = module.aurora.regions
}

module "peering" {
  source = "../../../modules/peering"
  providers = {
    aws      = aws.primary
    aws.peer = aws.secondary
  }

  name                      = "${local.customer.name}-${var.environment}"
  requester_vpc_id          = module.primary.vpc_id
  requester_cidr_block      = var.primary_cidr
  requester_route_table_ids = module.primary.route_table_ids
  peer_vpc_id               = module.secondary.vpc_id
  peer_cidr_block           = var.secondary_cidr
  peer_route_table_ids      = module.secondary.route_table_ids
}

# The master password of the global database: generated by Secrets Manager in every plan and apply and passed
# only to write-only arguments, so Terraform stores it nowhere (modules/aurora_global/README.md).
ephemeral "aws_secretsmanager_random_password" "aurora_master" {
  provider = aws.primary

  password_length            = 32
  exclude_punctuation        = true
  include_space              = false
  require_each_included_type = true
}

# The runtime role's password, made the same way (the tasks read it from the app secrets).
ephemeral "aws_secretsmanager_random_password" "aurora_app" {
  provider = aws.primary

  password_length            = 32
  exclude_punctuation        = true
  include_space              = false
  require_each_included_type = true
}

# Spans both regions like peering: one global cluster, a regional cluster next to each region's ECS nodes.
module "aurora" {
  source = "../../../modules/aurora_global"
  providers = {
    aws.primary   = aws.primary
    aws.secondary = aws.secondary
  }

  name                            = "${local.customer.name}-${var.environment}"
  master_password                 = ephemeral.aws_secretsmanager_random_password.aurora_master.random_password
  app_password                    = ephemeral.aws_secretsmanager_random_password.aurora_app.random_password
  primary_vpc_id                  = module.primary.vpc_id
  primary_subnet_ids              = module.primary.private_subnet_ids
  primary_ecs_security_group_id   = module.primary.node_security_group_id
  secondary_vpc_id                = module.secondary.vpc_id
  secondary_subnet_ids            = module.secondary.private_subnet_ids
  secondary_ecs_security_group_id = module.secondary.node_security_group_id
  deletion_protection             = local.stack.deletion_protection
  instance_count                  = var.production ? 2 : 1
}

module "dns_failover" {
  source    = "../../../modules/dns_failover"
  providers = { aws = aws.primary }

  zone_id     = data.aws_route53_zone.customer.zone_id
  record_name = "${var.environment}.${local.customer.domain}"
  # The service has a database: the primary region's record follows its writer.
  health_check_path     = local.health_path
  request_interval      = local.health.failover.request_interval_seconds
  failure_threshold     = local.health.failover.failure_threshold
  primary_search_string = local.health.failover.primary_search_string
  endpoints = {
    primary   = { alb_dns_name = module.primary.alb_dns_name, alb_zone_id = module.primary.alb_zone_id }
    secondary = { alb_dns_name = module.secondary.alb_dns_name, alb_zone_id = module.secondary.alb_zone_id }
  }
}

module "monitoring" {
  source    = "../../../modules/monitoring"
  providers = { aws = aws.primary }

  name         = "${local.customer.name}-${var.environment}"
  alarm_emails = var.alarm_emails
  regions = {
    primary   = module.primary.monitoring_target
    secondary = module.secondary.monitoring_target
  }
}
