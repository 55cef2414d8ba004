variable "customer" {
  type        = string
  description = "Customer name: prefixes every role, record path and resource name the policies scope to."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,10}[a-z0-9]$", var.customer))
    error_message = "customer must be 2-12 lowercase letters, digits or inner '-', starting with a letter."
  }
}

variable "account_id" {
  type        = string
  description = "The customer's AWS account ID."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "partition" {
  type        = string
  description = "AWS partition (aws, aws-cn, aws-us-gov)."
  default     = "aws"

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "regions" {
  type        = object({ primary = string, secondary = string })
  description = "The customer's region pair."

  validation {
    condition     = var.regions.primary != var.regions.secondary
    error_message = "primary and secondary must be different regions."
  }
}

variable "service_name" {
  type        = string
  description = "The service the pipeline ships (its ECR repository, ECS services and task families)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.service_name))
    error_message = "service_name must be 2-32 lowercase letters, digits or inner '-'."
  }
}

variable "environments" {
  type = map(object({
    # Protected: only its release role changes it, after a verified approval; every other role is denied.
    protected = bool
    # The environment has an Aurora global database (migrations, the DR drill's writer move).
    database = optional(bool, true)
    # The environment has the Route 53 failover pair the DR drill exercises.
    dr = optional(bool, false)
  }))
  description = "Pipeline environments (gantry's environment names, e.g. staging, production)."

  validation {
    condition     = length([for env, e in var.environments : env if e.protected]) > 0
    error_message = "At least one environment (production) must be protected."
  }

  validation {
    condition     = alltrue([for env in keys(var.environments) : can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", env)) && env != "build"])
    error_message = "Environment names are 2-32 lowercase letters, digits or inner '-'; 'build' is the build identity's."
  }
}

variable "stacks" {
  type        = map(string)
  description = "Environment name -> its Terraform stack name (terraform/live/<customer>/<stack>: clusters, secrets and databases are named <customer>-<stack>). Missing: the environment's own name."
  default     = {}
}

variable "build_principal_arns" {
  type        = list(string)
  description = "Principals of the build agents: they may assume the build role and the unprotected environments' roles."

  validation {
    condition     = length(var.build_principal_arns) > 0 && alltrue([for a in var.build_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", a))])
    error_message = "build_principal_arns needs at least one IAM principal ARN."
  }
}

variable "release_principal_arns" {
  type        = list(string)
  description = "Principals of the release agents, the only ones that may assume a protected environment's role."

  validation {
    condition     = length(var.release_principal_arns) > 0 && alltrue([for a in var.release_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", a))])
    error_message = "release_principal_arns needs at least one IAM principal ARN."
  }

  # A whole account (`:root`) would let every principal its administrators allow become production's role, and a
  # build agent's principal here would put production's role beside the code every build runs.
  validation {
    condition     = !anytrue([for a in var.release_principal_arns : endswith(a, ":root")])
    error_message = "release_principal_arns must name the release agents' roles, not an account (:root)."
  }

  validation {
    condition     = length(setintersection(var.release_principal_arns, var.build_principal_arns)) == 0
    error_message = "release_principal_arns and build_principal_arns must not share a principal: the release agents are separate."
  }
}

variable "guard_exempt_principal_arns" {
  type        = list(string)
  description = "Principals the production guard (service control policy) exempts besides the release roles: those that apply Terraform to production (they create and change its services)."
  default     = []
}

variable "lock_table" {
  type        = string
  description = "DynamoDB table locking the Terraform state; gantry's deploy leases are its items gantry/<customer>/<environment>."
}

variable "sns_topic_arn" {
  type        = string
  description = "The pipeline's notification topic (notifications.sns_topic_arn)."
}

variable "dr_hosted_zone_arn" {
  type        = string
  description = "The customer's Route 53 zone (the DR drill reads its failover records)."
  default     = null
}
