data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {
  region = var.region
}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  region       = data.aws_region.current.region

  # Listed instead of `kms:*`: the account keeps full control of the key without a wildcard grant.
  administration_actions = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]
  usage_actions = [
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
  ]
  # What the account keeps when `account_usage` is false: it administers the key but cannot encrypt, decrypt or
  # grant with it, so no IAM policy in the account (an admin's `kms:*` included) opens the data it protects.
  cryptographic_actions = [
    "kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
  ]
  account_actions = var.account_usage ? local.administration_actions : setsubtract(local.administration_actions, local.cryptographic_actions)
  # SSM encrypts a Standard SecureString with Encrypt, an Advanced one with GenerateDataKey, and reads either with
  # Decrypt; Secrets Manager and DynamoDB use the same three.
  via_service_actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:in a key policy the "*" resource means this key only; actions are listed, none wildcard
  #checkov:skip=CKV_AWS_356:in a key policy the "*" resource means this key only; there is nothing narrower to name
  statement {
    sid       = "AccountAdministration"
    actions   = sort(local.account_actions)
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []
    content {
      sid       = "ServicesOfThisAccount"
      actions   = local.usage_actions
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = var.service_principals
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }

  # Named principals (not the account) using the key only through the listed services of this region, e.g. the
  # Jenkins roles through SSM for the pipeline's records.
  dynamic "statement" {
    for_each = length(var.service_users.principal_arns) > 0 ? [1] : []
    content {
      sid       = "NamedPrincipalsThroughServices"
      actions   = local.via_service_actions
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = var.service_users.principal_arns
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for service in var.service_users.services : "${service}.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:CallerAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.service_users.reader_arns) > 0 ? [1] : []
    content {
      sid       = "NamedReadersThroughServices"
      actions   = ["kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = var.service_users.reader_arns
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for service in var.service_users.services : "${service}.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:CallerAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = var.logs_enabled ? [1] : []
    content {
      sid       = "CloudWatchLogsOfThisAccount"
      actions   = local.usage_actions
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:*"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  region                  = var.region
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  region        = var.region
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
