locals {
  live_dir = "${path.module}/../live/${var.customer}"
  customer = jsondecode(file("${local.live_dir}/customer.json"))
  # Every environment scaffolded by `gantry new-env` gets its deploy role on the next apply: no edit here.
  environments = {
    for f in fileset(local.live_dir, "*/environment.auto.tfvars.json") : dirname(f) => jsondecode(file("${local.live_dir}/${f}"))
  }
  regions    = { primary = local.customer.primary_region, secondary = local.customer.secondary_region }
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  repository = "${local.customer.name}/${local.customer.service_name}"
}

provider "aws" {
  region = local.customer.primary_region

  default_tags {
    tags = {
      Customer  = local.customer.name
      ManagedBy = "terraform"
      Root      = "global"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

module "kms" {
  source   = "../modules/kms_key"
  for_each = local.regions

  region             = each.value
  alias              = "${local.customer.name}-global-${each.value}"
  description        = "${local.customer.name}: audit trail, images and source in ${each.value}"
  logs_enabled       = true
  service_principals = ["cloudtrail.amazonaws.com"]
}

resource "aws_route53_zone" "customer" {
  #checkov:skip=CKV2_AWS_38:DNSSEC signing needs the registrar's DS record; enabled per customer once the domain is delegated
  #checkov:skip=CKV2_AWS_39:query logging is only possible from us-east-1 log groups; enabled per customer on request
  name    = local.customer.domain
  comment = "${local.customer.name}: environments are <env>.${local.customer.domain}"
}

module "ecr" {
  source = "../modules/ecr"

  repositories    = [local.repository]
  replica_regions = [local.customer.secondary_region]
  kms_key_arns    = { for role, region in local.regions : region => module.kms[role].key_arn }
  # This root is the only owner of the account's ECR replication configuration.
  manage_replication   = true
  replication_prefixes = ["${local.customer.name}/"]
}

module "source_mirror" {
  source = "../modules/source_mirror"

  repository_name  = "${local.customer.name}-${local.customer.service_name}"
  primary_region   = local.customer.primary_region
  secondary_region = local.customer.secondary_region
  kms_key_arns     = { for role, region in local.regions : region => module.kms[role].key_arn }
}

module "security_baseline" {
  source = "../modules/security_baseline"

  name                         = local.customer.name
  kms_key_arn                  = module.kms["primary"].key_arn
  jenkins_agent_principal_arns = var.jenkins_agent_principal_arns
  jenkins_roles = {
    for env in keys(local.environments) : env => {
      ecr_repository_arns   = values(module.ecr.repository_arns)
      ecs_cluster_arns      = [for region in values(local.regions) : "arn:${local.partition}:ecs:${region}:${local.account_id}:cluster/${local.customer.name}-${env}"]
      ecs_service_arns      = [for region in values(local.regions) : "arn:${local.partition}:ecs:${region}:${local.account_id}:service/${local.customer.name}-${env}/${local.customer.service_name}"]
      pass_role_arns        = ["arn:${local.partition}:iam::${local.account_id}:role/gantry/${local.customer.name}/${env}/*"]
      codecommit_read_arns  = [module.source_mirror.repository_arns["primary"]]
      codecommit_write_arns = [module.source_mirror.repository_arns["secondary"]]
      sns_topic_arns        = [for region in values(local.regions) : "arn:${local.partition}:sns:${region}:${local.account_id}:${local.customer.name}-${env}-alarms"]
      alarm_arns            = [for region in values(local.regions) : "arn:${local.partition}:cloudwatch:${region}:${local.account_id}:alarm:${local.customer.name}-${env}-*"]
      # Names from modules/aurora_global: global cluster `<customer>-<env>`, regional clusters `<customer>-<env>-<region>`.
      rds_global_cluster_arns = ["arn:${local.partition}:rds::${local.account_id}:global-cluster:${local.customer.name}-${env}"]
      rds_cluster_arns        = [for region in values(local.regions) : "arn:${local.partition}:rds:${region}:${local.account_id}:cluster:${local.customer.name}-${env}-${region}"]
    }
  }
}
