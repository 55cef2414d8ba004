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
    ecr_repository_arns = list(string)
    # Repositories the pipeline only pulls from: the golden container base.
    ecr_pull_repository_arns = optional(list(string), [])
    ecs_cluster_arns         = list(string)
    ecs_service_arns         = list(string)
    # Task definition families the pipeline registers revisions in (`.../task-definition/<family>:*`).
    task_definition_arns = list(string)
    pass_role_arns       = list(string)
    # Both regions' copies of the source (the primary takes pushes, mirroring pushes the secondary).
    codecommit_arns = list(string)
    # The pipeline's notification topic (notifications.sns_topic_arn).
    sns_topic_arns = list(string)
    alarm_arns     = list(string)
    # SSM parameters (both regions) of the pipeline's records, e.g. `.../parameter/gantry/<customer>/records/*`.
    records_parameter_arns = list(string)
    # The approval policies the protected services name: read only, never written by this role.
    approval_policy_parameter_arns = list(string)
    # Deploy leases: items whose key starts with lease_key_prefix in the Terraform lock table.
    lease_table_arn  = string
    lease_key_prefix = string
    # The secrets `gantry migrate` reads: the database's master credentials and the runtime role's (ARN patterns;
    # empty: no database).
    migration_secret_arns = optional(list(string), [])
    # The environment's Aurora global database, for the DR drill's switchover (empty: no database).
    rds_global_cluster_arns = optional(list(string), [])
    rds_cluster_arns        = optional(list(string), [])
    # The DR drill's Route 53 failover pair: the primary record's health check and the hosted zone (empty: no drill).
    dr_health_check_arns = optional(list(string), [])
    dr_hosted_zone_arns  = optional(list(string), [])
  }))
  description = "One Jenkins deployment role per environment (key = environment), limited to that environment's resources."

  validation {
    condition = alltrue([
      for role in values(var.jenkins_roles) : alltrue([
        for arn in concat(role.records_parameter_arns, role.approval_policy_parameter_arns) : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+/\\*$", arn))
      ])
    ])
    error_message = "records_parameter_arns and approval_policy_parameter_arns must be SSM parameter path ARNs ending in /*."
  }

  validation {
    condition = alltrue([
      for role in values(var.jenkins_roles) : length(setintersection(role.records_parameter_arns, role.approval_policy_parameter_arns)) == 0 && alltrue([
        for records in role.records_parameter_arns : alltrue([
          for policy in role.approval_policy_parameter_arns : !startswith(trimsuffix(policy, "*"), trimsuffix(records, "*")) && !startswith(trimsuffix(records, "*"), trimsuffix(policy, "*"))
        ])
      ])
    ])
    error_message = "The approval policies must live outside the records path: the role writes records and must never write a policy."
  }
}

variable "approval_admin_principal_arns" {
  type        = list(string)
  description = "Principals (e.g. the security team's SSO role) allowed to assume the approval-policy administrator role, the only role here that writes approval policies."
  default     = []
}

variable "approval_policy_parameter_arns" {
  type        = list(string)
  description = "Approval policy parameters (both regions, path ARNs ending in /*) the approval-policy administrator role may write."
  default     = []
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
