terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

module "kms" {
  source = "../../../kms_key"

  alias              = "example-audit"
  description        = "Example audit trail"
  logs_enabled       = true
  service_principals = ["cloudtrail.amazonaws.com"]
}

module "pipeline_iam" {
  source = "../../../pipeline_iam"

  customer               = "example"
  account_id             = "123456789012"
  regions                = { primary = "us-east-1", secondary = "eu-west-1" }
  service_name           = "cart"
  environments           = { staging = { protected = false }, production = { protected = true, dr = true } }
  stacks                 = { staging = "test", production = "prod" }
  build_principal_arns   = ["arn:aws:iam::123456789012:role/jenkins-build-agent"]
  release_principal_arns = ["arn:aws:iam::123456789012:role/jenkins-release-agent"]
  lock_table             = "gantry-terraform-locks"
  sns_topic_arn          = "arn:aws:sns:us-east-1:123456789012:gantry-example-pipeline"
}

module "security_baseline" {
  source = "../.."

  name                          = "example"
  kms_key_arn                   = module.kms.key_arn
  pipeline_roles                = module.pipeline_iam.roles
  approval_admin_principal_arns = ["arn:aws:iam::123456789012:role/security-team"]
  approval_admin_policy         = module.pipeline_iam.approval_admin_policy
  force_destroy_trail_bucket    = true
}

output "pipeline_role_arns" {
  description = "Role per pipeline identity."
  value       = module.security_baseline.pipeline_role_arns
}
