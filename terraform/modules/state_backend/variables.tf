variable "bucket_name" {
  type        = string
  description = "Globally unique name of the state bucket, e.g. `gantry-tfstate-acme-123456789012`."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')."
  }
}

variable "lock_table_name" {
  type        = string
  description = "Name of the DynamoDB table holding state locks."
  default     = "gantry-terraform-locks"
}

variable "noncurrent_version_days" {
  type        = number
  description = "Days old state versions are kept (they are the undo history of every apply)."
  default     = 90
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
