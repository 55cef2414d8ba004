variable "name" {
  type        = string
  description = "Name prefix, usually the customer, e.g. `acme`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key (in the provider's region) encrypting the trail, its bucket and its log group; it must allow cloudtrail.amazonaws.com and CloudWatch Logs."
}

variable "trail_retention_days" {
  type        = number
  description = "Days CloudTrail files are kept in S3 (and in CloudWatch Logs, rounded to a valid retention)."
  default     = 365

  validation {
    condition     = var.trail_retention_days >= 365
    error_message = "Keep audit logs for at least a year."
  }
}

variable "pipeline_roles" {
  type = map(object({
    name         = string
    path         = string
    trust_policy = string
    policy       = string
  }))
  description = "The pipeline's roles as modules/pipeline_iam renders them (its `roles` output): identity -> name, path, trust and inline policy documents."

  validation {
    condition     = contains(keys(var.pipeline_roles), "build") && length(var.pipeline_roles) > 1
    error_message = "pipeline_roles needs the build identity and at least one environment's (modules/pipeline_iam's `roles` output)."
  }
}

variable "approval_admin_principal_arns" {
  type        = list(string)
  description = "Principals (e.g. the security team's SSO role) allowed to assume the approval-policy administrator role, the only role here that writes approval policies."
  default     = []
}

variable "approval_admin_policy" {
  type        = string
  description = "The approval-policy administrator's permissions (modules/pipeline_iam's `approval_admin_policy` output); needed with approval_admin_principal_arns."
  default     = null

  validation {
    condition     = var.approval_admin_policy == null || can(jsondecode(var.approval_admin_policy))
    error_message = "approval_admin_policy must be a JSON policy document."
  }
}

variable "force_destroy_trail_bucket" {
  type        = bool
  description = "Let `terraform destroy` delete the trail bucket with its objects (test accounts only)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
