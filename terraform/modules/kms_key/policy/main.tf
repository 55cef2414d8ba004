locals {
  account_root = "arn:${var.partition}:iam::${var.account_id}:root"

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
  via_services        = [for service in var.service_users.services : "${service}.${var.region}.amazonaws.com"]

  # In a key policy the "*" resource means this key only. Statements are JSON strings until the end: Terraform
  # cannot mix objects of different shapes in one list.
  statements = concat(
    [jsonencode({
      Sid       = "AccountAdministration"
      Effect    = "Allow"
      Principal = { AWS = local.account_root }
      Action    = sort(local.account_actions)
      Resource  = "*"
    })],
    length(var.service_principals) > 0 ? [jsonencode({
      Sid       = "ServicesOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = var.service_principals }
      Action    = local.usage_actions
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
    })] : [],
    # Named principals (not the account) using the key only through the listed services of this region, e.g. the
    # pipeline's roles through SSM for its records.
    length(var.service_users.principal_arns) > 0 ? [jsonencode({
      Sid       = "NamedPrincipalsThroughServices"
      Effect    = "Allow"
      Principal = { AWS = var.service_users.principal_arns }
      Action    = local.via_service_actions
      Resource  = "*"
      Condition = { StringEquals = { "kms:ViaService" = local.via_services, "kms:CallerAccount" = var.account_id } }
    })] : [],
    length(var.service_users.reader_arns) > 0 ? [jsonencode({
      Sid       = "NamedReadersThroughServices"
      Effect    = "Allow"
      Principal = { AWS = var.service_users.reader_arns }
      Action    = ["kms:Decrypt"]
      Resource  = "*"
      Condition = { StringEquals = { "kms:ViaService" = local.via_services, "kms:CallerAccount" = var.account_id } }
    })] : [],
    var.logs_enabled ? [jsonencode({
      Sid       = "CloudWatchLogsOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = "logs.${var.region}.amazonaws.com" }
      Action    = local.usage_actions
      Resource  = "*"
      Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${var.partition}:logs:${var.region}:${var.account_id}:*" } }
    })] : [],
  )
  policy = { Version = "2012-10-17", Statement = [for s in local.statements : jsondecode(s)] }
}
