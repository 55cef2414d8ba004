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

variable "jenkins_agent_principal_arns" {
  type        = list(string)
  description = "IAM principals (the Jenkins agents' instance role) allowed to assume the per-environment roles."

  validation {
    condition     = length(var.jenkins_agent_principal_arns) > 0 && alltrue([for a in var.jenkins_agent_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", a))])
    error_message = "jenkins_agent_principal_arns needs at least one IAM principal ARN."
  }
}

variable "jenkins_roles" {
  type = map(object({
    ecr_repository_arns   = list(string)
    ecs_cluster_arns      = list(string)
    ecs_service_arns      = list(string)
    pass_role_arns        = list(string)
    codecommit_read_arns  = list(string)
    codecommit_write_arns = list(string)
    sns_topic_arns        = list(string)
    alarm_arns            = list(string)
    # The environment's Aurora global database, for the DR drill's switchover (empty: no database).
    rds_global_cluster_arns = optional(list(string), [])
    rds_cluster_arns        = optional(list(string), [])
  }))
  description = "One Jenkins deployment role per environment (key = environment), limited to that environment's resources."
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
