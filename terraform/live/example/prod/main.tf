data "aws_route53_zone" "customer" {
  provider = aws.primary
  name     = local.customer.domain
}

locals {
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
  }
}

module "primary" {
  source    = "../../../modules/region"
  providers = { aws = aws.primary }

  role                = "primary"
  cidr_block          = var.primary_cidr
  customer            = local.stack.customer
  environment         = local.stack.environment
  service_name        = local.stack.service_name
  domain              = local.stack.domain
  zone_id             = local.stack.zone_id
  ami_ssm_parameter   = local.stack.ami_ssm_parameter
  single_nat_gateway  = local.stack.single_nat_gateway
  deletion_protection = local.stack.deletion_protection
  min_instances       = local.stack.min_instances
  max_instances       = local.stack.max_instances
  min_tasks           = local.stack.min_tasks
  max_tasks           = local.stack.max_tasks
  bootstrap_image_tag = local.stack.bootstrap_image_tag
}

module "secondary" {
  source    = "../../../modules/region"
  providers = { aws = aws.secondary }

  role                = "secondary"
  cidr_block          = var.secondary_cidr
  customer            = local.stack.customer
  environment         = local.stack.environment
  service_name        = local.stack.service_name
  domain              = local.stack.domain
  zone_id             = local.stack.zone_id
  ami_ssm_parameter   = local.stack.ami_ssm_parameter
  single_nat_gateway  = local.stack.single_nat_gateway
  deletion_protection = local.stack.deletion_protection
  min_instances       = local.stack.min_instances
  max_instances       = local.stack.max_instances
  min_tasks           = local.stack.min_tasks
  max_tasks           = local.stack.max_tasks
  bootstrap_image_tag = local.stack.bootstrap_image_tag
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

module "dns_failover" {
  source    = "../../../modules/dns_failover"
  providers = { aws = aws.primary }

  zone_id     = data.aws_route53_zone.customer.zone_id
  record_name = "${var.environment}.${local.customer.domain}"
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
