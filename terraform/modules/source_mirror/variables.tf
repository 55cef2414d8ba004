variable "repository_name" {
  type        = string
  description = "CodeCommit repository name, identical in both regions, e.g. `acme-cart`."

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.repository_name))
    error_message = "repository_name may contain letters, digits, '.', '_' and '-' (at most 100)."
  }
}

variable "primary_region" {
  type        = string
  description = "Region the pipeline pushes to first (the source of truth)."
}

variable "secondary_region" {
  type        = string
  description = "Region that receives the mirror."
}

variable "kms_key_arns" {
  type        = map(string)
  description = "KMS key ARN per region encrypting the repository there."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to both repositories."
  default     = {}
}
