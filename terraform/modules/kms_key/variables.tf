variable "alias" {
  type        = string
  description = "Alias name without the `alias/` prefix, e.g. `acme-prod-us-east-1`."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.alias)) && !startswith(var.alias, "aws/")
    error_message = "The alias may contain letters, digits, '/', '_' and '-' and must not start with 'aws/'."
  }
}

variable "description" {
  type        = string
  description = "What the key protects; shown in the KMS console."
}

variable "region" {
  type        = string
  description = "Region to create the key in; null means the provider's region."
  default     = null
}

variable "service_principals" {
  type        = list(string)
  description = "AWS service principals (e.g. `sns.amazonaws.com`) that may use the key on behalf of this account only."
  default     = []
}

variable "logs_enabled" {
  type        = bool
  description = "Allow CloudWatch Logs in the key's region to encrypt log groups of this account with the key."
  default     = false
}

variable "deletion_window_in_days" {
  type        = number
  description = "Waiting period before a scheduled deletion takes effect."
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the key."
  default     = {}
}
