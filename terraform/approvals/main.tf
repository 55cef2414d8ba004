# The approval policies of the protected environments: who may approve (their SSH public keys) and for how long
# an approval holds. A protected ECS service's gantry:approval-policy tag names its environment's parameter;
# every deploy verifies approvals against it, never against a file of whoever runs the pipeline. Only the
# approval-policy administrators apply this root: the pipeline's roles may read these parameters and are denied
# every write (modules/pipeline_iam).
locals {
  live_dir  = "${path.module}/../live/${var.customer}"
  customer  = jsondecode(file("${local.live_dir}/customer.json"))
  approvals = jsondecode(file("${local.live_dir}/approvals.json"))
  regions   = { primary = local.customer.primary_region, secondary = local.customer.secondary_region }
  # gantry.approvals.ApprovalPolicy, as JSON: the allowed-signers file's text and the limits.
  policies = {
    for env, policy in local.approvals : env => jsonencode({
      allowed_signers        = file("${path.module}/../../${policy.allowed_signers}")
      max_age_hours          = try(policy.max_age_hours, 24)
      separation_of_duties   = try(policy.separation_of_duties, true)
      allow_wildcard_signers = try(policy.allow_wildcard_signers, false)
    })
  }
}

provider "aws" {
  region = local.customer.primary_region

  default_tags {
    tags = {
      Customer  = local.customer.name
      ManagedBy = "terraform"
      Root      = "approvals"
    }
  }
}

module "policy" {
  source   = "../modules/approval_policy"
  for_each = local.regions

  region     = each.value
  customer   = local.customer.name
  policies   = local.policies
  kms_key_id = "alias/${local.customer.name}-gantry-records"
}
