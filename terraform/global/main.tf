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
  # gantry's SSM parameters (aws.records_path = /gantry): each environment's records under
  # /gantry/<customer>/records/<environment>, and the approval policies under a separate path that only the
  # approval-policy administrators write (the terraform/approvals root).
  records_path         = "/gantry/${local.customer.name}/records"
  approval_policy_path = "/gantry-approval-policy/${local.customer.name}"
  records_alias        = "${local.customer.name}-gantry-records"
  # The pipeline environment each stack hosts (gantry's environment name): its tfvars' pipeline_environment, else
  # production for a production stack and staging for the others.
  pipeline = {
    for stack, e in local.environments : try(e.pipeline_environment, e.production ? "production" : "staging") => {
      stack     = stack
      protected = e.production
    }
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
    # The pipeline's roles, and the approval-policy administrator (it writes the policies, SecureStrings
    # under this key, through the terraform/approvals root).
    principal_arns = concat(values(module.security_baseline.pipeline_role_arns), compact([module.security_baseline.approval_admin_role_arn]))
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

# One role per pipeline stage (build, each environment), as data: modules/pipeline_iam renders the documents,
# security_baseline creates the roles, and the least-privilege tests evaluate the same documents.
module "pipeline_iam" {
  source = "../modules/pipeline_iam"

  customer                    = local.customer.name
  account_id                  = local.account_id
  partition                   = local.partition
  regions                     = local.regions
  service_name                = local.customer.service_name
  environments                = { for env, e in local.pipeline : env => { protected = e.protected, dr = e.protected } }
  stacks                      = { for env, e in local.pipeline : env => e.stack }
  build_principal_arns        = var.build_agent_principal_arns
  release_principal_arns      = var.release_agent_principal_arns
  guard_exempt_principal_arns = var.terraform_principal_arns
  lock_table                  = local.customer.lock_table
  sns_topic_arn               = aws_sns_topic.pipeline.arn
  dr_hosted_zone_arn          = aws_route53_zone.customer.arn
}

module "security_baseline" {
  source = "../modules/security_baseline"

  name                          = local.customer.name
  kms_key_arn                   = module.kms["primary"].key_arn
  pipeline_roles                = module.pipeline_iam.roles
  approval_admin_principal_arns = var.approval_admin_principal_arns
  approval_admin_policy         = module.pipeline_iam.approval_admin_policy
}
