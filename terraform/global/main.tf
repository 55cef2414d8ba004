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
  # gantry's SSM parameters (aws.records_path = /gantry): the pipeline's records, written by the deploy roles, and
  # the approval policies under a separate path that only the approval-policy administrators write.
  records_path         = "/gantry/${local.customer.name}/records"
  approval_policy_path = "/gantry-approval-policy/${local.customer.name}"
  records_alias        = "${local.customer.name}-gantry-records"
  parameter_arns = {
    for name, path in { records = local.records_path, policy = local.approval_policy_path } :
    name => [for region in values(local.regions) : "arn:${local.partition}:ssm:${region}:${local.account_id}:parameter${path}/*"]
  }
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

# The approval and staging records (SecureString parameters in both regions): one key per region under the same
# alias, so aws.records_kms_key names both. The account administers the keys but cannot use them; only the deploy
# roles can, and only through SSM: no ECS node, and no other role, can read or mint a record.
module "records_kms" {
  source   = "../modules/kms_key"
  for_each = local.regions

  region        = each.value
  alias         = local.records_alias
  description   = "${local.customer.name}: gantry approval and staging records (SSM ${local.records_path}) in ${each.value}"
  account_usage = false
  service_users = {
    principal_arns = values(module.security_baseline.jenkins_role_arns)
    # Approvers read a digest's staging record when they sign (`gantry approve --print`).
    reader_arns = var.approver_principal_arns
    services    = ["ssm"]
  }
}

# The pipeline's notification topic (notifications.sns_topic_arn). Its events are no secret: the AWS managed key
# lets any publisher the topic policy admits encrypt, without a key grant per role.
resource "aws_sns_topic" "pipeline" {
  name              = "gantry-${local.customer.name}-pipeline"
  kms_master_key_id = "alias/aws/sns"
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

  name                           = local.customer.name
  kms_key_arn                    = module.kms["primary"].key_arn
  jenkins_agent_principal_arns   = var.jenkins_agent_principal_arns
  approval_admin_principal_arns  = var.approval_admin_principal_arns
  approval_policy_parameter_arns = local.parameter_arns.policy
  jenkins_roles = {
    for env in keys(local.environments) : env => {
      ecr_repository_arns = values(module.ecr.repository_arns)
      # The golden container base `gantry bake --target container` publishes (aws.base_image.repository).
      ecr_pull_repository_arns       = ["arn:${local.partition}:ecr:${local.customer.primary_region}:${local.account_id}:repository/${local.customer.name}/golden-base"]
      ecs_cluster_arns               = [for region in values(local.regions) : "arn:${local.partition}:ecs:${region}:${local.account_id}:cluster/${local.customer.name}-${env}"]
      ecs_service_arns               = [for region in values(local.regions) : "arn:${local.partition}:ecs:${region}:${local.account_id}:service/${local.customer.name}-${env}/${local.customer.service_name}"]
      task_definition_arns           = [for region in values(local.regions) : "arn:${local.partition}:ecs:${region}:${local.account_id}:task-definition/${local.customer.name}-${env}-${local.customer.service_name}:*"]
      pass_role_arns                 = ["arn:${local.partition}:iam::${local.account_id}:role/gantry/${local.customer.name}/${env}/*"]
      codecommit_arns                = values(module.source_mirror.repository_arns)
      sns_topic_arns                 = [aws_sns_topic.pipeline.arn]
      alarm_arns                     = [for region in values(local.regions) : "arn:${local.partition}:cloudwatch:${region}:${local.account_id}:alarm:${local.customer.name}-${env}-*"]
      records_parameter_arns         = local.parameter_arns.records
      approval_policy_parameter_arns = local.parameter_arns.policy
      lease_table_arn                = "arn:${local.partition}:dynamodb:${local.customer.primary_region}:${local.account_id}:table/${local.customer.lock_table}"
      lease_key_prefix               = "gantry/${local.customer.name}/"
      # modules/aurora_global names its secrets gantry/<customer>-<env>/aurora-master and .../aurora-app (+ 6
      # random characters); `gantry migrate` reads both in the primary region.
      migration_secret_arns = [for name in ["aurora-master", "aurora-app"] : "arn:${local.partition}:secretsmanager:${local.customer.primary_region}:${local.account_id}:secret:gantry/${local.customer.name}-${env}/${name}-??????"]
      # Names from modules/aurora_global: global cluster `<customer>-<env>`, regional clusters `<customer>-<env>-<region>`.
      rds_global_cluster_arns = ["arn:${local.partition}:rds::${local.account_id}:global-cluster:${local.customer.name}-${env}"]
      rds_cluster_arns        = [for region in values(local.regions) : "arn:${local.partition}:rds:${region}:${local.account_id}:cluster:${local.customer.name}-${env}-${region}"]
      # Health checks have generated IDs, created by the environment roots (modules/dns_failover); this root
      # cannot name them, so the drill may reach every health check of the account, and only this zone's records.
      dr_health_check_arns = ["arn:${local.partition}:route53:::healthcheck/*"]
      dr_hosted_zone_arns  = [aws_route53_zone.customer.arn]
    }
  }
}
