data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  region = data.aws_region.current.region
  name   = "${var.customer}-${var.environment}"
  fqdn   = "${var.environment}.${var.domain}"
  tags   = merge(var.tags, { Customer = var.customer, Environment = var.environment, RegionRole = var.role })
  # The ECR repository is created once per customer by the global root; replication fills this region's copy.
  bootstrap_image = "${data.aws_caller_identity.current.account_id}.dkr.ecr.${local.region}.amazonaws.com/${var.customer}/${var.service_name}:${var.bootstrap_image_tag}"
  # This region's entry of the global database, if the environment has one.
  database = lookup(var.database, local.region, null)
}

module "kms" {
  source = "../kms_key"

  alias              = "${local.name}-${local.region}"
  description        = "${local.name} in ${local.region}: logs and alarm topics"
  logs_enabled       = true
  service_principals = ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]
  tags               = local.tags
}

module "network" {
  source = "../network"

  name               = local.name
  cidr_block         = var.cidr_block
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}

resource "aws_acm_certificate" "this" {
  domain_name               = local.fqdn
  subject_alternative_names = ["${local.region}.${local.fqdn}"]
  validation_method         = "DNS"
  tags                      = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for option in aws_acm_certificate.this.domain_validation_options : option.domain_name => option
  }

  zone_id = var.zone_id
  name    = each.value.resource_record_name
  type    = each.value.resource_record_type
  records = [each.value.resource_record_value]
  ttl     = 300
  # Both regions ask for the same validation record of the shared name; either may write it.
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

module "alb" {
  source = "../alb"

  name                 = local.name
  vpc_id               = module.network.vpc_id
  vpc_cidr_block       = module.network.cidr_block
  public_subnet_ids    = module.network.public_subnet_ids
  certificate_arn      = aws_acm_certificate_validation.this.certificate_arn
  target_port          = var.container_port
  health_check         = var.health_check
  deregistration_delay = var.deregistration_delay
  deletion_protection  = var.deletion_protection
  force_destroy_logs   = !var.deletion_protection
  tags                 = local.tags
}

module "ecs_cluster" {
  source = "../ecs_cluster"

  name               = local.name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  ami_ssm_parameter  = var.ami_ssm_parameter
  instance_type      = var.instance_type
  min_size           = var.min_instances
  max_size           = var.max_instances
  tags               = local.tags
}

# Bridge networking maps each task to an ephemeral host port: only the load balancer may reach that range.
resource "aws_vpc_security_group_ingress_rule" "alb_to_nodes" {
  security_group_id            = module.ecs_cluster.node_security_group_id
  description                  = "Dynamic host ports of tasks, from the load balancer only"
  referenced_security_group_id = module.alb.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 32768
  to_port                      = 65535
}

module "ecs_service" {
  source = "../ecs_service"

  customer                  = var.customer
  environment               = var.environment
  service_name              = var.service_name
  cluster_name              = module.ecs_cluster.cluster_name
  capacity_provider_name    = module.ecs_cluster.capacity_provider_name
  target_group_arn          = module.alb.target_group_arn
  alb_arn_suffix            = module.alb.alb_arn_suffix
  target_group_arn_suffix   = module.alb.target_group_arn_suffix
  bootstrap_image           = local.bootstrap_image
  container_port            = var.container_port
  cpu                       = var.cpu
  memory                    = var.memory
  min_tasks                 = var.min_tasks
  max_tasks                 = var.max_tasks
  kms_key_arn               = module.kms.key_arn
  secret_arns               = local.database == null ? [] : [local.database.app_secret_arn]
  secret_kms_key_arns       = local.database == null ? [] : [local.database.kms_key_arn]
  migration_secret_arns     = local.database == null ? [] : [local.database.secret_arn]
  approval_policy_parameter = var.approval_policy_parameter
  tags                      = local.tags

  depends_on = [module.alb]
}

# `<region>.<environment>.<domain>` always reaches this region, whatever the failover record says:
# smoke tests and rollbacks address one region through it.
resource "aws_route53_record" "regional" {
  zone_id = var.zone_id
  name    = "${local.region}.${local.fqdn}"
  type    = "A"

  alias {
    name                   = module.alb.dns_name
    zone_id                = module.alb.zone_id
    evaluate_target_health = true
  }
}
