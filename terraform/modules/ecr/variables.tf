variable "repositories" {
  type        = list(string)
  description = "Repository names, e.g. `[\"acme/cart\"]`, created with the same settings in every region."

  validation {
    condition     = alltrue([for name in var.repositories : can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", name))])
    error_message = "Repository names must be lowercase letters, digits and . _ / - separators."
  }
}

variable "replica_regions" {
  type        = list(string)
  description = "Regions receiving a copy of every image pushed in the provider's (source) region."

  validation {
    condition     = length(var.replica_regions) >= 1
    error_message = "At least one replica region is needed for disaster recovery."
  }
}

variable "kms_key_arns" {
  type        = map(string)
  description = "KMS key ARN per region (source and every replica region) encrypting the repositories there."
}

variable "manage_replication" {
  type        = bool
  description = "Own the registry-wide replication configuration of the source region. Exactly one root per account sets this."
  default     = true
}

variable "replication_prefixes" {
  type        = list(string)
  description = "Repository name prefixes replicated; empty means the repositories of this module."
  default     = []
}

variable "keep_images" {
  type        = number
  description = "Tagged images kept per repository; older ones expire."
  default     = 100
}

variable "untagged_expiry_days" {
  type        = number
  description = "Days after which untagged images expire."
  default     = 7
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every repository."
  default     = {}
}
