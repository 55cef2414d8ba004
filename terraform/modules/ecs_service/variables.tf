variable "customer" {
  type        = string
  description = "Customer name, used in the task family and IAM names."
}

variable "environment" {
  type        = string
  description = "Environment name (DEPLOY_ENV in the container), e.g. `prod`."
}

variable "service_name" {
  type        = string
  description = "Service and container name, e.g. `cart`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.service_name))
    error_message = "service_name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "cluster_name" {
  type        = string
  description = "ECS cluster the service runs in."
}

variable "capacity_provider_name" {
  type        = string
  description = "Capacity provider the service places tasks with."
}

variable "target_group_arn" {
  type        = string
  description = "Target group the service registers its tasks with."
}

variable "alb_arn_suffix" {
  type        = string
  description = "ARN suffix of the load balancer, for the requests-per-target scaling metric."
}

variable "target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the target group, for the requests-per-target scaling metric."
}

variable "bootstrap_image" {
  type        = string
  description = "Image of the first task definition revision only; the pipeline deploys every later image."
}

variable "container_port" {
  type        = number
  description = "Port the container listens on."
  default     = 80
}

variable "cpu" {
  type        = number
  description = "CPU units reserved for the container."
  default     = 256
}

variable "memory" {
  type        = number
  description = "Memory (MiB) reserved for the container."
  default     = 256
}

variable "task_definition_template" {
  type        = string
  description = "Path of the task definition template shared with the pipeline; null means the repository's services/<service_name>/task-definition.json.tpl."
  default     = null
}

variable "min_tasks" {
  type        = number
  description = "Lower bound of service autoscaling."
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1."
  }
}

variable "max_tasks" {
  type        = number
  description = "Upper bound of service autoscaling."
  default     = 6
}

variable "cpu_target_percent" {
  type        = number
  description = "Average service CPU utilisation that target tracking keeps."
  default     = 60
}

variable "requests_per_target" {
  type        = number
  description = "ALB requests per target per minute that target tracking keeps."
  default     = 1000
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the service's log group (the key must allow CloudWatch Logs)."
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep container logs."
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "secret_arns" {
  type        = list(string)
  description = "Secrets Manager secrets the task definition injects (`secrets[].valueFrom`); the execution role may read exactly these."
  default     = []
}

variable "secret_kms_key_arns" {
  type        = list(string)
  description = "KMS keys encrypting `secret_arns`; the execution role may decrypt with them through Secrets Manager only."
  default     = []
}

variable "approval_policy_parameter" {
  type        = string
  description = "Name of the SSM parameter holding the approval policy (terraform/approvals) when this environment is protected: the service is tagged gantry:protected=true and gantry:approval-policy=<name>, and gantry refuses any deploy here without a valid approval. null: not protected."
  default     = null

  validation {
    condition     = var.approval_policy_parameter == null || can(regex("^/gantry-approval-policy/[a-z0-9-]+/[a-z0-9-]+$", var.approval_policy_parameter))
    error_message = "approval_policy_parameter must be /gantry-approval-policy/<customer>/<environment>."
  }
}

variable "migration_secret_arns" {
  type        = list(string)
  description = "Secrets the migration task gets from ECS (the database's master credentials): its own execution role reads them, the service's never does. Empty: no migration task role."
  default     = []
}
