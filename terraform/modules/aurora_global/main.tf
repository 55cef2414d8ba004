data "aws_region" "primary" {
  provider = aws.primary
}

data "aws_region" "secondary" {
  provider = aws.secondary
}

data "aws_partition" "current" {
  provider = aws.primary
}

locals {
  engine = "aurora-postgresql"
  # The engine_version validation allows 15.x only, so this is always aurora-postgresql15.
  family = "aurora-postgresql${split(".", var.engine_version)[0]}"
  # Literal in the security group rules too, where the repository's security tests read the ports.
  port = 5432

  primary_region   = data.aws_region.primary.region
  secondary_region = data.aws_region.secondary.region
  # Clusters are named after their region, not their role: after a failover the "secondary" one is the writer.
  primary_identifier   = "${var.name}-${local.primary_region}"
  secondary_identifier = "${var.name}-${local.secondary_region}"
  # One name in both regions: a task can name its own region's secret without knowing the region.
  secret_name = "gantry/${var.name}/aurora-master"
  # The tasks read this one: the runtime role's credentials, never the master's.
  app_secret_name = "gantry/${var.name}/aurora-app"
}

# --- keys: one customer-managed key per region --------------------------------------------------------
# RDS storage, Performance Insights and Secrets Manager use a key through grants and `kms:ViaService` on behalf
# of the calling principal, which the key policy's account statement leaves to IAM; no service principal is
# needed. CloudWatch Logs encrypts the exported PostgreSQL log groups as its own principal: `logs_enabled`.
module "kms_primary" {
  source    = "../kms_key"
  providers = { aws = aws.primary }

  alias              = "${var.name}-aurora-${local.primary_region}"
  description        = "${var.name} Aurora in ${local.primary_region}: storage, Performance Insights, credentials, logs"
  logs_enabled       = true
  service_principals = []
  tags               = var.tags
}

module "kms_secondary" {
  source    = "../kms_key"
  providers = { aws = aws.secondary }

  alias              = "${var.name}-aurora-${local.secondary_region}"
  description        = "${var.name} Aurora in ${local.secondary_region}: storage, Performance Insights, credentials, logs"
  logs_enabled       = true
  service_principals = []
  tags               = var.tags
}

# --- Enhanced Monitoring role (IAM is global: one role serves both regions) ---------------------------
data "aws_iam_policy_document" "monitoring_assume" {
  provider = aws.primary

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  provider = aws.primary
  count    = var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  provider = aws.primary
  count    = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# --- network: subnet groups and security groups per region --------------------------------------------
resource "aws_db_subnet_group" "primary" {
  provider = aws.primary

  name        = local.primary_identifier
  description = "${var.name} Aurora in ${local.primary_region}: private subnets"
  subnet_ids  = var.primary_subnet_ids
  tags        = var.tags
}

resource "aws_db_subnet_group" "secondary" {
  provider = aws.secondary

  name        = local.secondary_identifier
  description = "${var.name} Aurora in ${local.secondary_region}: private subnets"
  subnet_ids  = var.secondary_subnet_ids
  tags        = var.tags
}

# No inline rules and no egress rule: Terraform removes the default allow-all egress of a new group, and the
# only ingress is PostgreSQL from the ECS container instances' security group (no CIDR anywhere).
resource "aws_security_group" "primary" {
  provider = aws.primary

  name_prefix = "${var.name}-aurora-"
  description = "Aurora PostgreSQL ${var.name}: port ${local.port} from the ECS container instances only"
  vpc_id      = var.primary_vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-aurora" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "secondary" {
  provider = aws.secondary

  name_prefix = "${var.name}-aurora-"
  description = "Aurora PostgreSQL ${var.name}: port ${local.port} from the ECS container instances only"
  vpc_id      = var.secondary_vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-aurora" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "primary_from_ecs" {
  provider = aws.primary

  security_group_id            = aws_security_group.primary.id
  description                  = "PostgreSQL from the ECS container instances"
  referenced_security_group_id = var.primary_ecs_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_ingress_rule" "secondary_from_ecs" {
  provider = aws.secondary

  security_group_id            = aws_security_group.secondary.id
  description                  = "PostgreSQL from the ECS container instances"
  referenced_security_group_id = var.secondary_ecs_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# The container instances' group allows only HTTPS out (modules/ecs_cluster): open PostgreSQL to this group.
resource "aws_vpc_security_group_egress_rule" "primary_ecs_to_db" {
  provider = aws.primary

  security_group_id            = var.primary_ecs_security_group_id
  description                  = "PostgreSQL to the ${var.name} Aurora cluster"
  referenced_security_group_id = aws_security_group.primary.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "secondary_ecs_to_db" {
  provider = aws.secondary

  security_group_id            = var.secondary_ecs_security_group_id
  description                  = "PostgreSQL to the ${var.name} Aurora cluster"
  referenced_security_group_id = aws_security_group.secondary.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# --- parameters and logs per region -------------------------------------------------------------------
resource "aws_rds_cluster_parameter_group" "primary" {
  provider = aws.primary

  name        = "${local.primary_identifier}-${local.family}"
  family      = local.family
  description = "${var.name} Aurora in ${local.primary_region}: TLS only, DDL and slow statements logged"
  tags        = var.tags

  # Written out (not a dynamic block) so checkov can see them; the same list in both regions. pending-reboot
  # is valid for static and dynamic parameters alike, and a new cluster starts with them either way.
  # rds.force_ssl: connections without TLS are refused.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  # Schema changes, slow statements, sessions and lock waits land in the exported `postgresql` log.
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_min_duration_statement"
    value        = tostring(var.log_min_duration_statement)
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_connections"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_disconnections"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_lock_waits"
    value        = "1"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster_parameter_group" "secondary" {
  provider = aws.secondary

  name        = "${local.secondary_identifier}-${local.family}"
  family      = local.family
  description = "${var.name} Aurora in ${local.secondary_region}: TLS only, DDL and slow statements logged"
  tags        = var.tags

  # The same parameters as the primary region's group.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  # Schema changes, slow statements, sessions and lock waits land in the exported `postgresql` log.
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_min_duration_statement"
    value        = tostring(var.log_min_duration_statement)
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_connections"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_disconnections"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "log_lock_waits"
    value        = "1"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# RDS exports to this fixed name; created first, it is encrypted and kept a year instead of RDS's default
# (no key, never expires).
resource "aws_cloudwatch_log_group" "postgresql_primary" {
  provider = aws.primary

  name              = "/aws/rds/cluster/${local.primary_identifier}/postgresql"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.kms_primary.key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "postgresql_secondary" {
  provider = aws.secondary

  name              = "/aws/rds/cluster/${local.secondary_identifier}/postgresql"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.kms_secondary.key_arn
  tags              = var.tags
}

# --- the global database ------------------------------------------------------------------------------
resource "aws_rds_global_cluster" "this" {
  provider = aws.primary

  global_cluster_identifier = var.name
  engine                    = local.engine
  engine_version            = var.engine_version
  database_name             = var.database_name
  storage_encrypted         = true
  deletion_protection       = var.deletion_protection
  tags                      = var.tags
}

resource "aws_rds_cluster" "primary" {
  #checkov:skip=CKV2_AWS_8:gantry has no AWS Backup vault; automated backups with PITR (7-35 days) and a final snapshot restore data, the other region covers a region loss
  provider = aws.primary

  cluster_identifier        = local.primary_identifier
  global_cluster_identifier = aws_rds_global_cluster.this.id
  engine                    = local.engine
  engine_version            = var.engine_version
  database_name             = var.database_name
  port                      = local.port

  # Only the primary carries credentials; the write-only pair keeps the password out of plan and state.
  master_username            = var.master_username
  master_password_wo         = var.master_password
  master_password_wo_version = var.password_version

  db_subnet_group_name            = aws_db_subnet_group.primary.name
  vpc_security_group_ids          = [aws_security_group.primary.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.primary.name

  storage_encrypted                   = true
  kms_key_id                          = module.kms_primary.key_arn
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  deletion_protection          = var.deletion_protection
  backup_retention_period      = var.backup_retention_period
  preferred_backup_window      = var.preferred_backup_window
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = false
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${var.final_snapshot_identifier_prefix}-${local.primary_identifier}"
  tags                         = var.tags

  depends_on = [aws_cloudwatch_log_group.postgresql_primary]

  lifecycle {
    # Upgrades go through the global cluster's engine_version, which upgrades its members; the members'
    # replication source is managed by the global database (and changes on switchover and failover).
    ignore_changes = [engine_version, replication_source_identifier]
  }
}

resource "aws_rds_cluster_instance" "primary" {
  provider = aws.primary
  count    = var.instance_count

  identifier                   = "${local.primary_identifier}-${count.index + 1}"
  cluster_identifier           = aws_rds_cluster.primary.id
  engine                       = local.engine
  instance_class               = var.instance_class
  db_subnet_group_name         = aws_db_subnet_group.primary.name
  publicly_accessible          = false
  auto_minor_version_upgrade   = var.auto_minor_version_upgrade
  preferred_maintenance_window = var.preferred_maintenance_window
  apply_immediately            = false
  copy_tags_to_snapshot        = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.kms_primary.key_arn
  performance_insights_retention_period = var.performance_insights_retention_period
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = one(aws_iam_role.monitoring[*].arn)

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

resource "aws_rds_cluster" "secondary" {
  #checkov:skip=CKV2_AWS_8:gantry has no AWS Backup vault; automated backups with PITR (7-35 days) and a final snapshot restore data, the other region covers a region loss
  provider = aws.secondary

  cluster_identifier        = local.secondary_identifier
  global_cluster_identifier = aws_rds_global_cluster.this.id
  engine                    = local.engine
  engine_version            = var.engine_version
  port                      = local.port
  # No master credentials and no database name: a secondary cluster replicates them from the primary.

  db_subnet_group_name            = aws_db_subnet_group.secondary.name
  vpc_security_group_ids          = [aws_security_group.secondary.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.secondary.name

  # A cross-region member of an encrypted global database needs a key of its own region.
  storage_encrypted                   = true
  kms_key_id                          = module.kms_secondary.key_arn
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  deletion_protection          = var.deletion_protection
  backup_retention_period      = var.backup_retention_period
  preferred_backup_window      = var.preferred_backup_window
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = false
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${var.final_snapshot_identifier_prefix}-${local.secondary_identifier}"
  tags                         = var.tags

  # A secondary can join only once the primary cluster has a writer instance.
  depends_on = [aws_rds_cluster_instance.primary, aws_cloudwatch_log_group.postgresql_secondary]

  lifecycle {
    ignore_changes = [engine_version, replication_source_identifier]
  }
}

resource "aws_rds_cluster_instance" "secondary" {
  provider = aws.secondary
  count    = var.instance_count

  identifier                   = "${local.secondary_identifier}-${count.index + 1}"
  cluster_identifier           = aws_rds_cluster.secondary.id
  engine                       = local.engine
  instance_class               = var.instance_class
  db_subnet_group_name         = aws_db_subnet_group.secondary.name
  publicly_accessible          = false
  auto_minor_version_upgrade   = var.auto_minor_version_upgrade
  preferred_maintenance_window = var.preferred_maintenance_window
  apply_immediately            = false
  copy_tags_to_snapshot        = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.kms_secondary.key_arn
  performance_insights_retention_period = var.performance_insights_retention_period
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = one(aws_iam_role.monitoring[*].arn)

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

# --- credentials: one secret per region, same name, encrypted with the region's key -------------------
resource "aws_secretsmanager_secret" "primary" {
  #checkov:skip=CKV2_AWS_57:RDS-managed rotation is unavailable to global clusters and a rotation Lambda would update one region's secret only; raising password_version rotates both
  provider = aws.primary

  name                    = local.secret_name
  description             = "${var.name} Aurora master credentials for tasks in ${local.primary_region}"
  kms_key_id              = module.kms_primary.key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret" "secondary" {
  #checkov:skip=CKV2_AWS_57:RDS-managed rotation is unavailable to global clusters and a rotation Lambda would update one region's secret only; raising password_version rotates both
  provider = aws.secondary

  name                    = local.secret_name
  description             = "${var.name} Aurora master credentials for tasks in ${local.secondary_region} (after a failover)"
  kms_key_id              = module.kms_secondary.key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

# The RDS secret layout. `host` is the region's own cluster endpoint (the writer while that cluster is the
# primary); `global_host` is the global writer endpoint, which always follows the current primary.
resource "aws_secretsmanager_secret_version" "primary" {
  provider = aws.primary

  secret_id = aws_secretsmanager_secret.primary.id
  secret_string_wo = jsonencode({
    engine              = "postgres"
    host                = aws_rds_cluster.primary.endpoint
    reader_host         = aws_rds_cluster.primary.reader_endpoint
    global_host         = aws_rds_global_cluster.this.endpoint
    port                = local.port
    dbname              = var.database_name
    username            = var.master_username
    password            = var.master_password
    dbClusterIdentifier = local.primary_identifier
  })
  secret_string_wo_version = var.password_version

  lifecycle {
    # A recreated primary cluster gets this apply's password: rewrite the secret in the same apply.
    replace_triggered_by = [aws_rds_cluster.primary.cluster_resource_id]
  }
}

resource "aws_secretsmanager_secret_version" "secondary" {
  provider = aws.secondary

  secret_id = aws_secretsmanager_secret.secondary.id
  secret_string_wo = jsonencode({
    engine              = "postgres"
    host                = aws_rds_cluster.secondary.endpoint
    reader_host         = aws_rds_cluster.secondary.reader_endpoint
    global_host         = aws_rds_global_cluster.this.endpoint
    port                = local.port
    dbname              = var.database_name
    username            = var.master_username
    password            = var.master_password
    dbClusterIdentifier = local.secondary_identifier
  })
  secret_string_wo_version = var.password_version

  lifecycle {
    replace_triggered_by = [aws_rds_cluster.primary.cluster_resource_id]
  }
}

# --- the runtime role's credentials: what the tasks read (the master secret is for `gantry migrate`) ------
resource "aws_secretsmanager_secret" "app_primary" {
  #checkov:skip=CKV2_AWS_57:the runtime role's password is set by `gantry migrate` from this secret, so rotation is raising password_version (both regions at once), not a Lambda that would change one region's copy
  provider = aws.primary

  name                    = local.app_secret_name
  description             = "${var.name} runtime role credentials for tasks in ${local.primary_region}"
  kms_key_id              = module.kms_primary.key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret" "app_secondary" {
  #checkov:skip=CKV2_AWS_57:the runtime role's password is set by `gantry migrate` from this secret, so rotation is raising password_version (both regions at once), not a Lambda that would change one region's copy
  provider = aws.secondary

  name                    = local.app_secret_name
  description             = "${var.name} runtime role credentials for tasks in ${local.secondary_region}"
  kms_key_id              = module.kms_secondary.key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app_primary" {
  provider = aws.primary

  secret_id                = aws_secretsmanager_secret.app_primary.id
  secret_string_wo         = jsonencode({ username = var.app_username, password = var.app_password })
  secret_string_wo_version = var.password_version
}

resource "aws_secretsmanager_secret_version" "app_secondary" {
  provider = aws.secondary

  secret_id                = aws_secretsmanager_secret.app_secondary.id
  secret_string_wo         = jsonencode({ username = var.app_username, password = var.app_password })
  secret_string_wo_version = var.password_version
}
