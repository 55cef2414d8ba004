variable "bucket" {
  description = "Name (id) of the bucket to harden. The caller owns the aws_s3_bucket itself, so it keeps its own lifecycle rules (prevent_destroy) and checkov justifications."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens."
  }
}

variable "bucket_arn" {
  description = "ARN of the same bucket, for the policy statements."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::name)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for default encryption. Null means SSE-S3 (AES256): only for buckets whose writer cannot use KMS, e.g. ALB access logs."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "expiration_days" {
  description = "Days after which current objects expire; null keeps them (e.g. Terraform state)."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be at least 1, or null to keep objects."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "policy_documents" {
  description = "Extra bucket policy documents (JSON from aws_iam_policy_document) merged with the TLS-only statement, e.g. log delivery grants."
  type        = list(string)
  default     = []
}
