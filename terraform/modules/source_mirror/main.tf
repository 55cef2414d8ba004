locals {
  regions = {
    primary   = var.primary_region
    secondary = var.secondary_region
  }
}

resource "aws_codecommit_repository" "this" {
  for_each = local.regions

  #checkov:skip=CKV2_AWS_37:these are mirrors written only by the pipeline; review happens on the source repository
  region          = each.value
  repository_name = var.repository_name
  description     = "${each.key} copy of ${var.repository_name}; written only by the pipeline's mirror stage"
  kms_key_id      = var.kms_key_arns[each.value]
  tags            = merge(var.tags, { Role = each.key })

  lifecycle {
    precondition {
      condition     = var.primary_region != var.secondary_region
      error_message = "primary_region and secondary_region must differ."
    }
  }
}

# Mirroring is done by the pipeline's `gantry mirror` stage (the Jenkins mirror job), not by an EventBridge
# rule: it is the same code path as the local target, it verifies that both regions carry the same refs
# before a build starts, and it needs no extra compute (Lambda/CodeBuild) holding git credentials.
data "aws_iam_policy_document" "mirror" {
  statement {
    sid       = "ReadPrimary"
    actions   = ["codecommit:GitPull", "codecommit:GetBranch", "codecommit:GetRepository", "codecommit:ListBranches"]
    resources = [aws_codecommit_repository.this["primary"].arn]
  }

  statement {
    sid       = "WriteSecondary"
    actions   = ["codecommit:GitPull", "codecommit:GitPush", "codecommit:GetBranch", "codecommit:GetRepository", "codecommit:ListBranches"]
    resources = [aws_codecommit_repository.this["secondary"].arn]
  }
}
