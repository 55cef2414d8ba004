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

variable "account_usage" {
  type        = bool
  description = "Let the account's IAM policies use the key for encryption (true), or only administer it (false: only `service_users` use it)."
  default     = true
}

variable "service_users" {
  type = object({
    principal_arns = list(string)
    # Principals that only decrypt through the services (e.g. approvers reading a staging record).
    reader_arns = optional(list(string), [])
    services    = list(string)
  })
  description = "IAM principals allowed to use the key (readers: to decrypt) only through these AWS services in the key's region (kms:ViaService), e.g. `ssm`."
  default     = { principal_arns = [], services = [] }

  validation {
    condition     = length(concat(var.service_users.principal_arns, var.service_users.reader_arns)) == 0 || length(var.service_users.services) > 0
    error_message = "service_users needs at least one service (e.g. \"ssm\") when it names principals."
  }
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
