output "bucket" {
  description = "State bucket name (backend `bucket`)."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "Lock table name (backend `dynamodb_table`)."
  value       = aws_dynamodb_table.locks.name
}

output "kms_key_arn" {
  description = "Key encrypting state and locks (backend `kms_key_id`)."
  value       = module.key.key_arn
}
