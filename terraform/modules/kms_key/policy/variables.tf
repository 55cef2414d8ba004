variable "account_id" {
  type        = string
  description = "The account that owns the key."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "partition" {
  type        = string
  description = "AWS partition of the account."
  default     = "aws"
}

variable "region" {
  type        = string
  description = "The key's region (kms:ViaService names services of this region)."
}

variable "account_usage" {
  type        = bool
  description = "As modules/kms_key: the account's IAM policies may use the key (true), or only administer it."
  default     = true
}

variable "service_principals" {
  type        = list(string)
  description = "AWS service principals of this account allowed to use the key."
  default     = []
}

variable "service_users" {
  type = object({
    principal_arns = list(string)
    reader_arns    = optional(list(string), [])
    services       = list(string)
  })
  description = "Principals using the key only through these services of the key's region (readers: decrypt only)."
  default     = { principal_arns = [], services = [] }
}

variable "logs_enabled" {
  type        = bool
  description = "Let CloudWatch Logs of this region encrypt the account's log groups with the key."
  default     = false
}
