# One region's part of the global database. The parent module (..) validates every input it passes on; these
# are typed and described, and validated where a wrong value would be this module's own mistake.

variable "cluster" {
  type = object({
    name                                  = string
    engine_version                        = string
    database_name                         = string
    master_username                       = string
    app_username                          = string
    password_version                      = number
    instance_class                        = string
    instance_count                        = number
    deletion_protection                   = bool
    backup_retention_period               = number
    preferred_backup_window               = string
    preferred_maintenance_window          = string
    auto_minor_version_upgrade            = bool
    final_snapshot_identifier_prefix      = string
    performance_insights_retention_period = number
    monitoring_interval                   = number
    log_min_duration_statement            = number
    log_retention_days                    = number
    secret_recovery_window_in_days        = number
    tags                                  = map(string)
  })
  description = "What both regions share, as the parent module's variables of the same names (validated there): name, engine and database, user names, password version, instances, protection, backups, maintenance, monitoring, logging, secret recovery and tags."

  validation {
    condition     = var.cluster.instance_count >= 1
    error_message = "cluster.instance_count must be at least 1."
  }

  # Checked here too: this module creates the log group, and its retention is a security property of its own.
  validation {
    condition     = var.cluster.log_retention_days >= 365 && contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster.log_retention_days)
    error_message = "cluster.log_retention_days must be a CloudWatch Logs retention of at least 365 days."
  }
}

variable "region" {
  type        = string
  description = "The AWS region of this module's provider, for names."
}

variable "writer" {
  type        = bool
  description = "True for the region created as the writer: it carries the database name and the master credentials; the other joins the global cluster without them."
}

variable "global_cluster_identifier" {
  type        = string
  description = "The global cluster to join. The reader region passes the writer region's `joinable_global_cluster_id`, so it joins only once the writer has an instance."
}

variable "global_writer_endpoint" {
  type        = string
  description = "The global writer endpoint, written into the master secret as `global_host`."
}

variable "master_password" {
  type        = string
  ephemeral   = true
  sensitive   = true
  description = "Master password, ephemeral: reaches RDS (writer only) and the secret through write-only arguments."
}

variable "app_password" {
  type        = string
  ephemeral   = true
  sensitive   = true
  description = "Password of the runtime role, ephemeral: written to the app secret through a write-only argument."
}

variable "rewrite_secrets_with" {
  type        = string
  default     = null
  description = "The writer cluster's resource ID when this is the reader region: a recreated writer (a new password) rewrites this region's secret too. Null in the writer region, which uses its own."
}

variable "vpc_id" {
  type        = string
  description = "VPC of this region's cluster."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the DB subnet group."
}

variable "ecs_security_group_id" {
  type        = string
  description = "Security group of this region's ECS container instances: the only source allowed to reach the database."
}

variable "monitoring_role_arn" {
  type        = string
  default     = null
  description = "The Enhanced Monitoring role (IAM is global: the parent creates one for both regions); null when monitoring is off."
}

