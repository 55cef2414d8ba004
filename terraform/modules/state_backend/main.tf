module "key" {
  source = "../kms_key"

  alias       = "${var.bucket_name}-state"
  description = "Terraform state and locks in ${var.bucket_name}"
  tags        = var.tags
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:state access is audited by CloudTrail data events; a log bucket per state bucket adds cost only
  #checkov:skip=CKV_AWS_144:versioning keeps history; a state copy in a second region is created only on customer request
  #checkov:skip=CKV2_AWS_62:nothing consumes state-object events
  bucket = var.bucket_name
  tags   = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

module "state_bucket" {
  source = "../s3_bucket_baseline"

  bucket                  = aws_s3_bucket.state.id
  bucket_arn              = aws_s3_bucket.state.arn
  kms_key_arn             = module.key.key_arn
  noncurrent_version_days = var.noncurrent_version_days
}

resource "aws_dynamodb_table" "locks" {
  name                        = var.lock_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true
  tags                        = var.tags

  attribute {
    name = "LockID"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.key_arn
  }

  point_in_time_recovery {
    enabled = true
  }
}
