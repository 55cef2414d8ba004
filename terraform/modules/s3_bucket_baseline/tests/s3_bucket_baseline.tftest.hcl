mock_provider "aws" {
  # The mock provider fills computed attributes with random strings; policy arguments must parse as JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  bucket     = "acme-test-logs"
  bucket_arn = "arn:aws:s3:::acme-test-logs"
}

run "defaults_are_private_versioned_and_kept" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "Every public-access switch is on."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning is on."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration) == 0
    error_message = "Without expiration_days, current objects are kept (Terraform state)."
  }

  assert {
    condition = one([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule :
      one(rule.apply_server_side_encryption_by_default).sse_algorithm
    ]) == "aws:kms"
    error_message = "A KMS key means SSE-KMS."
  }
}

run "no_key_means_sse_s3_and_expiry_applies" {
  command = plan

  variables {
    expiration_days = 30
  }

  assert {
    condition = one([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule :
      one(rule.apply_server_side_encryption_by_default).sse_algorithm
    ]) == "AES256"
    error_message = "Without a key the bucket uses SSE-S3 (ALB access logs)."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].days == 30
    error_message = "expiration_days expires current objects."
  }
}

run "policy_keeps_caller_statements_and_denies_plain_http" {
  command = plan

  variables {
    policy_documents = [jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Sid = "Delivery", Effect = "Allow", Action = "s3:PutObject", Resource = "arn:aws:s3:::acme-test-logs/*", Principal = { Service = "logging.s3.amazonaws.com" } }]
    })]
  }

  assert {
    condition     = data.aws_iam_policy_document.this.source_policy_documents == var.policy_documents && one(data.aws_iam_policy_document.this.statement).sid == "DenyInsecureTransport"
    error_message = "The caller's statements are merged with the TLS-only deny."
  }
}

run "bucket_name_is_validated" {
  command = plan

  variables {
    bucket = "Not_A_Bucket"
  }

  expect_failures = [var.bucket]
}
