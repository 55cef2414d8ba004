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
  port   = 5432

  primary_region   = data.aws_region.primary.region
  secondary_region = data.aws_region.secondary.region

  # What both regions' halves share (./region is called once per provider).
  cluster = {
    name                                  = var.name
    engine_version                        = var.engine_version
    database_name                         = var.database_name
    master_username                       = var.master_username
    app_username                          = var.app_username
    password_version                      = var.password_version
    instance_class                        = var.instance_class
    instance_count                        = var.instance_count
    deletion_protection                   = var.deletion_protection
    backup_retention_period               = var.backup_retention_period
    preferred_backup_window               = var.preferred_backup_window
    preferred_maintenance_window          = var.preferred_maintenance_window
    auto_minor_version_upgrade            = var.auto_minor_version_upgrade
    final_snapshot_identifier_prefix      = var.final_snapshot_identifier_prefix
    performance_insights_retention_period = var.performance_insights_retention_period
    monitoring_interval                   = var.monitoring_interval
    log_min_duration_statement            = var.log_min_duration_statement
    log_retention_days                    = var.log_retention_days
    secret_recovery_window_in_days        = var.secret_recovery_window_in_days
    tags                                  = var.tags
  }
  # Naming the attachment orders every instance after it, as Enhanced Monitoring needs the policy attached.
  monitoring_role_arn = one([for attached in aws_iam_role_policy_attachment.monitoring : aws_iam_role.monitoring[0].arn])
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

# --- each region's half: key, network, parameters, logs, cluster, instances, secrets (./region) -----------
# The primary region's is created as the writer, with the database name and the master credentials.
module "primary" {
  source    = "./region"
  providers = { aws = aws.primary }

  region                    = local.primary_region
  writer                    = true
  global_cluster_identifier = aws_rds_global_cluster.this.id
  global_writer_endpoint    = aws_rds_global_cluster.this.endpoint
  vpc_id                    = var.primary_vpc_id
  subnet_ids                = var.primary_subnet_ids
  ecs_security_group_id     = var.primary_ecs_security_group_id
  monitoring_role_arn       = local.monitoring_role_arn
  master_password           = var.master_password
  app_password              = var.app_password

  cluster = local.cluster
}

# The secondary region's joins once the primary has an instance, without credentials of its own; a recreated
# primary cluster (this apply's password) rewrites its secret too.
module "secondary" {
  source    = "./region"
  providers = { aws = aws.secondary }

  region                    = local.secondary_region
  writer                    = false
  global_cluster_identifier = module.primary.joinable_global_cluster_id
  global_writer_endpoint    = aws_rds_global_cluster.this.endpoint
  rewrite_secrets_with      = module.primary.cluster_resource_id
  vpc_id                    = var.secondary_vpc_id
  subnet_ids                = var.secondary_subnet_ids
  ecs_security_group_id     = var.secondary_ecs_security_group_id
  monitoring_role_arn       = local.monitoring_role_arn
  master_password           = var.master_password
  app_password              = var.app_password

  cluster = local.cluster
}
