locals {
  engine = "aurora-postgresql"
  # The parent's engine_version validation allows 15.x only, so this is always aurora-postgresql15.
  family = "aurora-postgresql${split(".", var.cluster.engine_version)[0]}"
  # Literal in the security group rules too, where the repository's security tests read the ports.
  port = 5432
  # Clusters are named after their region, not their role: after a failover the reader region's is the writer.
  identifier = "${var.cluster.name}-${var.region}"
}

# --- key: customer-managed, this region's ------------------------------------------------------------
# RDS storage, Performance Insights and Secrets Manager use a key through grants and `kms:ViaService` on behalf
# of the calling principal, which the key policy's account statement leaves to IAM; no service principal is
# needed. CloudWatch Logs encrypts the exported PostgreSQL log group as its own principal: `logs_enabled`.
module "kms" {
  source = "../../kms_key"

  alias              = "${var.cluster.name}-aurora-${var.region}"
  description        = "${var.cluster.name} Aurora in ${var.region}: storage, Performance Insights, credentials, logs"
  logs_enabled       = true
  service_principals = []
  tags               = var.cluster.tags
}

# --- network: subnet group and security group ----------------------------------------------------------
resource "aws_db_subnet_group" "this" {
  name        = local.identifier
  description = "${var.cluster.name} Aurora in ${var.region}: private subnets"
  subnet_ids  = var.subnet_ids
  tags        = var.cluster.tags
}

# No inline rules and no egress rule: Terraform removes the default allow-all egress of a new group, and the
# only ingress is PostgreSQL from the ECS container instances' security group (no CIDR anywhere).
resource "aws_security_group" "this" {
  name_prefix = "${var.cluster.name}-aurora-"
  description = "Aurora PostgreSQL ${var.cluster.name}: port ${local.port} from the ECS container instances only"
  vpc_id      = var.vpc_id
  tags        = merge(var.cluster.tags, { Name = "${var.cluster.name}-aurora" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_ecs" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the ECS container instances"
  referenced_security_group_id = var.ecs_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# The container instances' group allows only HTTPS out (modules/ecs_cluster): open PostgreSQL to this group.
resource "aws_vpc_security_group_egress_rule" "ecs_to_db" {
  security_group_id            = var.ecs_security_group_id
  description                  = "PostgreSQL to the ${var.cluster.name} Aurora cluster"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# --- parameters and logs -------------------------------------------------------------------------------
resource "aws_rds_cluster_parameter_group" "this" {
  name        = "${local.identifier}-${local.family}"
  family      = local.family
  description = "${var.cluster.name} Aurora in ${var.region}: TLS only, DDL and slow statements logged"
  tags        = var.cluster.tags

  # Written out (not a dynamic block) so checkov can see them. pending-reboot is valid for static and dynamic
  # parameters alike, and a new cluster starts with them either way.
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
    value        = tostring(var.cluster.log_min_duration_statement)
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
resource "aws_cloudwatch_log_group" "postgresql" {
  name              = "/aws/rds/cluster/${local.identifier}/postgresql"
  retention_in_days = var.cluster.log_retention_days
  kms_key_id        = module.kms.key_arn
  tags              = var.cluster.tags
}

# --- the cluster and its instances ---------------------------------------------------------------------
resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV2_AWS_8:gantry has no AWS Backup vault; automated backups with PITR (7-35 days) and a final snapshot restore data, the other region covers a region loss
  cluster_identifier        = local.identifier
  global_cluster_identifier = var.global_cluster_identifier
  engine                    = local.engine
  engine_version            = var.cluster.engine_version
  port                      = local.port

  # Only the writer region's cluster carries the database name and credentials (the write-only pair keeps the
  # password out of plan and state); the reader region's replicates them from it.
  database_name              = var.writer ? var.cluster.database_name : null
  master_username            = var.writer ? var.cluster.master_username : null
  master_password_wo         = var.writer ? var.master_password : null
  master_password_wo_version = var.writer ? var.cluster.password_version : null

  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.this.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name

  # A cross-region member of an encrypted global database needs a key of its own region.
  storage_encrypted                   = true
  kms_key_id                          = module.kms.key_arn
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  deletion_protection          = var.cluster.deletion_protection
  backup_retention_period      = var.cluster.backup_retention_period
  preferred_backup_window      = var.cluster.preferred_backup_window
  preferred_maintenance_window = var.cluster.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = false
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${var.cluster.final_snapshot_identifier_prefix}-${local.identifier}"
  tags                         = var.cluster.tags

  depends_on = [aws_cloudwatch_log_group.postgresql]

  lifecycle {
    # Upgrades go through the global cluster's engine_version, which upgrades its members; the members'
    # replication source is managed by the global database (and changes on switchover and failover).
    ignore_changes = [engine_version, replication_source_identifier]
  }
}

resource "aws_rds_cluster_instance" "this" {
  count = var.cluster.instance_count

  identifier                   = "${local.identifier}-${count.index + 1}"
  cluster_identifier           = aws_rds_cluster.this.id
  engine                       = local.engine
  instance_class               = var.cluster.instance_class
  db_subnet_group_name         = aws_db_subnet_group.this.name
  publicly_accessible          = false
  auto_minor_version_upgrade   = var.cluster.auto_minor_version_upgrade
  preferred_maintenance_window = var.cluster.preferred_maintenance_window
  apply_immediately            = false
  copy_tags_to_snapshot        = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.kms.key_arn
  performance_insights_retention_period = var.cluster.performance_insights_retention_period
  monitoring_interval                   = var.cluster.monitoring_interval
  monitoring_role_arn                   = var.monitoring_role_arn

  tags = var.cluster.tags
}

# --- credentials: the same names in both regions, encrypted with this region's key -----------------------
resource "aws_secretsmanager_secret" "master" {
  #checkov:skip=CKV2_AWS_57:RDS-managed rotation is unavailable to global clusters and a rotation Lambda would update one region's secret only; raising password_version rotates both
  name                    = "gantry/${var.cluster.name}/aurora-master"
  description             = "${var.cluster.name} Aurora master credentials for tasks in ${var.region}${var.writer ? "" : " (after a failover)"}"
  kms_key_id              = module.kms.key_arn
  recovery_window_in_days = var.cluster.secret_recovery_window_in_days
  tags                    = var.cluster.tags
}

# The writer cluster's resource ID, whichever region this is: replacing it (a recreated writer cluster has this
# apply's password) replaces this and so rewrites the secret below in the same apply.
resource "terraform_data" "writer_cluster" {
  input = coalesce(var.rewrite_secrets_with, aws_rds_cluster.this.cluster_resource_id)
}

# The RDS secret layout. `host` is this region's own cluster endpoint (the writer while this cluster is the
# primary); `global_host` is the global writer endpoint, which always follows the current primary.
resource "aws_secretsmanager_secret_version" "master" {
  secret_id = aws_secretsmanager_secret.master.id
  secret_string_wo = jsonencode({
    engine              = "postgres"
    host                = aws_rds_cluster.this.endpoint
    reader_host         = aws_rds_cluster.this.reader_endpoint
    global_host         = var.global_writer_endpoint
    port                = local.port
    dbname              = var.cluster.database_name
    username            = var.cluster.master_username
    password            = var.master_password
    dbClusterIdentifier = local.identifier
  })
  secret_string_wo_version = var.cluster.password_version

  lifecycle {
    replace_triggered_by = [terraform_data.writer_cluster]
  }
}

# --- the runtime role's credentials: what the tasks read (the master secret is for `gantry migrate`) ------
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:the runtime role's password is set by `gantry migrate` from this secret, so rotation is raising password_version (both regions at once), not a Lambda that would change one region's copy
  name                    = "gantry/${var.cluster.name}/aurora-app"
  description             = "${var.cluster.name} runtime role credentials for tasks in ${var.region}"
  kms_key_id              = module.kms.key_arn
  recovery_window_in_days = var.cluster.secret_recovery_window_in_days
  tags                    = var.cluster.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id                = aws_secretsmanager_secret.app.id
  secret_string_wo         = jsonencode({ username = var.cluster.app_username, password = var.app_password })
  secret_string_wo_version = var.cluster.password_version
}
