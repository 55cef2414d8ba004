data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {
  region = var.region
}

# The key policy is a pure submodule, so the least-privilege tests render exactly this document.
module "policy" {
  source = "./policy"

  account_id         = data.aws_caller_identity.current.account_id
  partition          = data.aws_partition.current.partition
  region             = data.aws_region.current.region
  account_usage      = var.account_usage
  service_principals = var.service_principals
  service_users      = var.service_users
  logs_enabled       = var.logs_enabled
}

resource "aws_kms_key" "this" {
  region                  = var.region
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = module.policy.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  region        = var.region
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
