output "bucket" {
  description = "Name of the hardened bucket, available once its policy is in place (depend on this, e.g. for log delivery)."
  value       = aws_s3_bucket_policy.this.bucket
}

output "policy_json" {
  description = "The bucket policy as applied: the caller's statements plus DenyInsecureTransport."
  value       = data.aws_iam_policy_document.this.json
}
