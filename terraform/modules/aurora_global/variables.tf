variable "name" {
  type        = string
  description = "Global cluster identifier and name prefix, e.g. `acme-prod`; each regional cluster is `<name>-<region>`."

  validation {
    # Room for `-<region>-<n>` in the 63-character instance identifiers; RDS refuses `--` and a trailing '-'.
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-40 lowercase letters, digits or single inner '-', starting with a letter."
  }
}

variable "engine_version" {
  type        = string
  description = "Aurora PostgreSQL 15 engine version of the global database, e.g. `15.12` (the parameter groups are `aurora-postgresql15`)."
  default     = "15.12"

  validation {
    condition     = can(regex("^15\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be an Aurora PostgreSQL 15 minor version such as 15.12."
  }
}

variable "database_name" {
  type        = string
  description = "Database created in the global cluster."
  default     = "cart"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be 1-63 lowercase letters, digits or '_', starting with a letter."
  }
}

variable "master_username" {
  type        = string
  description = "Master user of the database; it and the password are stored in each region's secret."
  default     = "cart_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && !contains(["postgres", "rdsadmin", "admin"], var.master_username)
    error_message = "master_username must be 1-16 lowercase letters, digits or '_', start with a letter and not be a reserved name."
  }
}

variable "master_password" {
  type = string
  # Ephemeral: Terraform keeps it in neither plan nor state. The caller generates it in every plan and apply
  # with the AWS provider's `ephemeral "aws_secretsmanager_random_password"` (see README and examples/basic).
  ephemeral   = true
  sensitive   = true
  description = "Master password, ephemeral; sent to RDS and both secrets only when `password_version` changes or they are created."

  validation {
    # RDS refuses '/', '@', '"', "'" and spaces in master passwords.
    condition     = length(var.master_password) >= 16 && length(var.master_password) <= 99 && can(regex("^[^/@\"' ]+$", var.master_password))
    error_message = "master_password must be 16-99 characters without '/', '@', quotes or spaces."
  }
}

variable "app_username" {
  type        = string
  description = "The service's runtime role: DML on its tables only (the migrations grant it); `gantry migrate` creates it with the password of the app secrets."
  default     = "cart"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,30}$", var.app_username))
    error_message = "app_username must be 1-31 lowercase letters, digits or '_', starting with a letter."
  }
}

variable "app_password" {
  type = string
  # Ephemeral like the master password: only the two app secrets' write-only values receive it.
  ephemeral   = true
  sensitive   = true
  description = "Password of the runtime role, ephemeral; written to both app secrets only when `password_version` changes or they are created."

  validation {
    condition     = length(var.app_password) >= 16 && length(var.app_password) <= 99 && can(regex("^[^/@\"' ]+$", var.app_password))
    error_message = "app_password must be 16-99 characters without '/', '@', quotes or spaces."
  }
}

variable "password_version" {
  type        = number
  description = "Version of the master password: raise it to set a new generated password on the cluster and in both secrets in one apply."
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number of at least 1."
  }
}

variable "instance_class" {
  type        = string
  description = "DB instance class of every instance in both regions; global databases need a memory-optimised (R or X) class."
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.(r[5-9][a-z]*|x2[a-z]*)\\.([0-9]*x)?large$", var.instance_class))
    error_message = "instance_class must be a memory-optimised class such as db.r6g.large or db.r7g.2xlarge."
  }
}

variable "instance_count" {
  type        = number
  description = "Instances per regional cluster, the same in both regions so that a failover keeps the capacity."
  default     = 2

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 16 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number between 1 and 16."
  }
}

variable "primary_vpc_id" {
  type        = string
  description = "VPC of the primary region's cluster (the `aws.primary` provider's region)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.primary_vpc_id))
    error_message = "primary_vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "secondary_vpc_id" {
  type        = string
  description = "VPC of the secondary region's cluster (the `aws.secondary` provider's region)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.secondary_vpc_id))
    error_message = "secondary_vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "primary_subnet_ids" {
  type        = list(string)
  description = "Private subnets of the primary VPC for the DB subnet group, in at least two availability zones."

  validation {
    condition     = length(var.primary_subnet_ids) >= 2 && alltrue([for id in var.primary_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "primary_subnet_ids must list at least two subnet IDs (subnet-...)."
  }
}

variable "secondary_subnet_ids" {
  type        = list(string)
  description = "Private subnets of the secondary VPC for the DB subnet group, in at least two availability zones."

  validation {
    condition     = length(var.secondary_subnet_ids) >= 2 && alltrue([for id in var.secondary_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "secondary_subnet_ids must list at least two subnet IDs (subnet-...)."
  }
}

variable "primary_ecs_security_group_id" {
  type        = string
  description = "Security group of the ECS container instances in the primary region: the only source allowed to reach the database."

  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.primary_ecs_security_group_id))
    error_message = "primary_ecs_security_group_id must be a security group ID (sg-...)."
  }
}

variable "secondary_ecs_security_group_id" {
  type        = string
  description = "Security group of the ECS container instances in the secondary region: the only source allowed to reach the database."

  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.secondary_ecs_security_group_id))
    error_message = "secondary_ecs_security_group_id must be a security group ID (sg-...)."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the global cluster and both regional clusters from deletion."
  default     = true
}

variable "backup_retention_period" {
  type        = number
  description = "Days of automated backups (point-in-time recovery) kept by each regional cluster."
  default     = 14

  validation {
    condition     = var.backup_retention_period >= 7 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 7 and 35 days."
  }
}

variable "preferred_backup_window" {
  type        = string
  description = "Daily UTC window of the automated backup, `hh24:mi-hh24:mi`; must not overlap the maintenance window."
  default     = "03:00-04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_backup_window))
    error_message = "preferred_backup_window must look like 03:00-04:00 (UTC)."
  }
}

variable "preferred_maintenance_window" {
  type        = string
  description = "Weekly UTC maintenance window of clusters and instances, `ddd:hh24:mi-ddd:hh24:mi`."
  default     = "sun:05:00-sun:06:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_maintenance_window))
    error_message = "preferred_maintenance_window must look like sun:05:00-sun:06:00 (UTC)."
  }
}

variable "auto_minor_version_upgrade" {
  type        = bool
  description = "Let RDS apply minor engine upgrades to the instances in the maintenance window."
  default     = true
}

variable "final_snapshot_identifier_prefix" {
  type        = string
  description = "Prefix of the final snapshot each regional cluster takes when it is destroyed (`<prefix>-<cluster identifier>`)."
  default     = "final"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}[a-z0-9]$", var.final_snapshot_identifier_prefix)) && !strcontains(var.final_snapshot_identifier_prefix, "--")
    error_message = "final_snapshot_identifier_prefix must be 2-42 lowercase letters, digits or single inner '-', starting with a letter."
  }
}

variable "performance_insights_retention_period" {
  type        = number
  description = "Days Performance Insights keeps data: 7 (free tier) or a multiple of 31 up to 731."
  default     = 7

  validation {
    condition     = var.performance_insights_retention_period == 7 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period >= 31 && var.performance_insights_retention_period <= 731)
    error_message = "performance_insights_retention_period must be 7 or a multiple of 31 between 31 and 731."
  }
}

variable "monitoring_interval" {
  type        = number
  description = "Enhanced Monitoring interval in seconds; 0 turns it off and creates no monitoring role."
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "log_min_duration_statement" {
  type        = number
  description = "Statements running at least this many milliseconds are logged (`log_min_duration_statement`); -1 turns it off."
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement >= -1 && floor(var.log_min_duration_statement) == var.log_min_duration_statement
    error_message = "log_min_duration_statement must be -1 or a whole number of milliseconds."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the exported PostgreSQL logs in each region's log group."
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365 && contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention of at least 365 days (365, 400, 545, 731, ...)."
  }
}

variable "secret_recovery_window_in_days" {
  type        = number
  description = "Days a deleted credentials secret can still be restored; 0 deletes it at once (test environments only)."
  default     = 30

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource in both regions."
  default     = {}
}
