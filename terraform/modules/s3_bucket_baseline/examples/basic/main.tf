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

module "key" {
  source = "../../../kms_key"

  alias       = "example-reports"
  description = "Example key for the reports bucket"
}

resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_18:example bucket; real callers justify their own access-logging choice
  #checkov:skip=CKV_AWS_144:example bucket; cross-region replication is a per-customer decision
  #checkov:skip=CKV2_AWS_62:example bucket; nothing consumes its object events
  bucket_prefix = "example-reports-"
}

module "reports_bucket" {
  source = "../.."

  bucket          = aws_s3_bucket.reports.id
  bucket_arn      = aws_s3_bucket.reports.arn
  kms_key_arn     = module.key.key_arn
  expiration_days = 90
}

output "bucket" {
  description = "Name of the example bucket, once it is hardened."
  value       = module.reports_bucket.bucket
}
