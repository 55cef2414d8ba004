# Both regions' providers are mocked. The mock provider fills computed attributes with random strings, so
# data sources whose values are parsed (policy JSON) or used in names (region, partition) get fixed values.
mock_provider "aws" {
  alias = "primary"

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }
}

mock_provider "aws" {
  alias = "secondary"

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

# Known key ARNs at plan time, so the plan-only runs can compare them.
override_module {
  target = module.primary.module.kms
  outputs = {
    key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    key_id    = "11111111-1111-1111-1111-111111111111"
    alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/acme-prod-aurora-us-east-1"
  }
}

override_module {
  target = module.secondary.module.kms
  outputs = {
    key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    key_id    = "22222222-2222-2222-2222-222222222222"
    alias_arn = "arn:aws:kms:eu-west-1:123456789012:alias/acme-prod-aurora-eu-west-1"
  }
}

variables {
  name                            = "acme-prod"
  primary_vpc_id                  = "vpc-0aaaaaaaaaaaaaaa1"
  primary_subnet_ids              = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"]
  primary_ecs_security_group_id   = "sg-0aaaaaaaaaaaaaaa1"
  secondary_vpc_id                = "vpc-0bbbbbbbbbbbbbbb1"
  secondary_subnet_ids            = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  secondary_ecs_security_group_id = "sg-0bbbbbbbbbbbbbbb1"
  # Stands in for the caller's ephemeral aws_secretsmanager_random_password (mock providers cannot open one).
  master_password = "TestOnlyPassword0123456789abcdef"
  app_password    = "TestOnlyAppPassword0123456789ab"
  # ./region's inputs shared by the writer_region and reader_region runs.
  cluster = {
    name                                  = "acme-prod"
    engine_version                        = "15.12"
    database_name                         = "cart"
    master_username                       = "cart_admin"
    app_username                          = "cart"
    password_version                      = 1
    instance_class                        = "db.r6g.large"
    instance_count                        = 2
    deletion_protection                   = true
    backup_retention_period               = 14
    preferred_backup_window               = "03:00-04:00"
    preferred_maintenance_window          = "sun:05:00-sun:06:00"
    auto_minor_version_upgrade            = true
    final_snapshot_identifier_prefix      = "final"
    performance_insights_retention_period = 7
    monitoring_interval                   = 60
    log_min_duration_statement            = 1000
    log_retention_days                    = 365
    secret_recovery_window_in_days        = 30
    tags                                  = {}
  }
  global_cluster_identifier = "acme-prod"
  global_writer_endpoint    = "acme-prod.global-abc123.global.rds.amazonaws.com"
  monitoring_role_arn       = "arn:aws:iam::123456789012:role/acme-prod-rds-monitoring"
}

# --- the whole module: the global cluster, and each region's half wired to its own provider and key --------
run "global_cluster_and_both_regions" {
  command = plan

  assert {
    condition     = aws_rds_global_cluster.this.storage_encrypted && aws_rds_global_cluster.this.engine == "aurora-postgresql" && aws_rds_global_cluster.this.database_name == "cart" && aws_rds_global_cluster.this.deletion_protection
    error_message = "The global database must be encrypted, deletion-protected Aurora PostgreSQL with the cart database."
  }

  assert {
    condition     = output.regions["us-east-1"].kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" && output.regions["eu-west-1"].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    error_message = "Each region's half must use a key of its own region."
  }

  assert {
    condition     = output.primary_cluster_identifier == "acme-prod-us-east-1" && output.secondary_cluster_identifier == "acme-prod-eu-west-1"
    error_message = "Each region's cluster must be named after its provider's region."
  }

  assert {
    condition     = output.secret_name == "gantry/acme-prod/aurora-master" && output.port == 5432
    error_message = "The master secret must have one name in both regions, and the port must be PostgreSQL's."
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 1
    error_message = "One Enhanced Monitoring role serves both regions."
  }
}

run "monitoring_can_be_turned_off" {
  command = plan

  variables {
    monitoring_interval = 0
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && local.monitoring_role_arn == null && local.cluster.monitoring_interval == 0
    error_message = "monitoring_interval = 0 must create no monitoring role and reach both regions."
  }
}

# --- one region's half (./region), as the writer region and as the reader region -------------------------
run "writer_region" {
  command = plan

  module {
    source = "./region"
  }

  providers = {
    aws = aws.primary
  }

  override_module {
    target = module.kms
    outputs = {
      key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
      key_id    = "11111111-1111-1111-1111-111111111111"
      alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/acme-prod-aurora-us-east-1"
    }
  }

  variables {
    region                = "us-east-1"
    writer                = true
    vpc_id                = "vpc-0aaaaaaaaaaaaaaa1"
    subnet_ids            = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"]
    ecs_security_group_id = "sg-0aaaaaaaaaaaaaaa1"
  }

  assert {
    condition     = aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" && aws_rds_cluster.this.global_cluster_identifier == "acme-prod"
    error_message = "The cluster must join the global cluster, encrypted with its region's key."
  }

  assert {
    condition     = aws_secretsmanager_secret.master.kms_key_id == module.kms.key_arn && aws_secretsmanager_secret.app.kms_key_id == module.kms.key_arn && aws_secretsmanager_secret.master.name == "gantry/acme-prod/aurora-master" && aws_secretsmanager_secret.app.name == "gantry/acme-prod/aurora-app"
    error_message = "Both secrets must be encrypted with the region's key, under the names tasks look up."
  }

  assert {
    condition     = aws_cloudwatch_log_group.postgresql.kms_key_id == module.kms.key_arn && aws_cloudwatch_log_group.postgresql.retention_in_days >= 365 && aws_cloudwatch_log_group.postgresql.name == "/aws/rds/cluster/acme-prod-us-east-1/postgresql"
    error_message = "The exported PostgreSQL log must be encrypted with the region's key, kept a year, under the name RDS exports to."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_ecs.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.from_ecs.cidr_ipv6 == null && aws_vpc_security_group_ingress_rule.from_ecs.prefix_list_id == null && aws_vpc_security_group_ingress_rule.from_ecs.from_port == 5432 && aws_vpc_security_group_ingress_rule.from_ecs.to_port == 5432 && aws_vpc_security_group_ingress_rule.from_ecs.ip_protocol == "tcp" && aws_vpc_security_group_ingress_rule.from_ecs.referenced_security_group_id == "sg-0aaaaaaaaaaaaaaa1"
    error_message = "Database ingress must be 5432/tcp from the region's ECS container instances' group, never from a CIDR or prefix list."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.ecs_to_db.security_group_id == "sg-0aaaaaaaaaaaaaaa1" && aws_vpc_security_group_egress_rule.ecs_to_db.cidr_ipv4 == null
    error_message = "The ECS nodes' egress to the database must target the database's security group, not a CIDR."
  }

  assert {
    condition     = aws_security_group.this.vpc_id == "vpc-0aaaaaaaaaaaaaaa1" && aws_db_subnet_group.this.subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"])
    error_message = "The security group and subnet group must be in the region's VPC and private subnets."
  }

  assert {
    condition     = aws_rds_cluster.this.deletion_protection && aws_rds_cluster.this.backup_retention_period >= 7 && !aws_rds_cluster.this.skip_final_snapshot && aws_rds_cluster.this.final_snapshot_identifier == "final-acme-prod-us-east-1"
    error_message = "The cluster must be deletion-protected, keep 7 days of backups and take a named final snapshot."
  }

  assert {
    condition     = aws_rds_cluster.this.iam_database_authentication_enabled && aws_rds_cluster.this.copy_tags_to_snapshot && !aws_rds_cluster.this.apply_immediately && aws_rds_cluster.this.enabled_cloudwatch_logs_exports == toset(["postgresql"])
    error_message = "The cluster needs IAM authentication, tagged snapshots, no immediate changes and exported logs."
  }

  assert {
    condition     = aws_rds_cluster.this.database_name == "cart" && aws_rds_cluster.this.master_username == "cart_admin" && aws_rds_cluster.this.master_password == null && aws_rds_cluster.this.master_password_wo_version == 1
    error_message = "The writer's password must reach RDS only through the write-only argument."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.master.secret_string == null && aws_secretsmanager_secret_version.master.secret_string_wo_version == 1 && aws_secretsmanager_secret_version.app.secret_string == null
    error_message = "Both secrets must be written through the write-only argument, keeping the passwords out of state."
  }

  assert {
    condition     = length(aws_rds_cluster_instance.this) == 2 && alltrue([for i in aws_rds_cluster_instance.this : i.performance_insights_enabled && i.performance_insights_kms_key_id == module.kms.key_arn && !i.publicly_accessible && i.monitoring_interval == 60 && i.monitoring_role_arn == "arn:aws:iam::123456789012:role/acme-prod-rds-monitoring" && i.auto_minor_version_upgrade && !i.apply_immediately])
    error_message = "instance_count private instances with Performance Insights on the region's key, Enhanced Monitoring, minor upgrades and no immediate changes."
  }

  assert {
    condition     = anytrue([for p in aws_rds_cluster_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"]) && anytrue([for p in aws_rds_cluster_parameter_group.this.parameter : p.name == "log_min_duration_statement" && p.value == "1000"]) && anytrue([for p in aws_rds_cluster_parameter_group.this.parameter : p.name == "log_statement" && p.value == "ddl"])
    error_message = "The parameter group must force TLS and log DDL and slow statements."
  }

  assert {
    condition     = aws_rds_cluster_parameter_group.this.family == "aurora-postgresql15" && aws_rds_cluster.this.db_cluster_parameter_group_name == aws_rds_cluster_parameter_group.this.name
    error_message = "The cluster must use its region's aurora-postgresql15 parameter group."
  }
}

run "reader_region" {
  command = plan

  module {
    source = "./region"
  }

  providers = {
    aws = aws.secondary
  }

  override_module {
    target = module.kms
    outputs = {
      key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
      key_id    = "22222222-2222-2222-2222-222222222222"
      alias_arn = "arn:aws:kms:eu-west-1:123456789012:alias/acme-prod-aurora-eu-west-1"
    }
  }

  variables {
    region                = "eu-west-1"
    writer                = false
    rewrite_secrets_with  = "cluster-WRITERCLUSTERRESOURCEID"
    vpc_id                = "vpc-0bbbbbbbbbbbbbbb1"
    subnet_ids            = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
    ecs_security_group_id = "sg-0bbbbbbbbbbbbbbb1"
  }

  assert {
    condition     = aws_rds_cluster.this.master_password == null && aws_rds_cluster.this.master_password_wo_version == null && aws_rds_cluster.this.manage_master_user_password == null
    error_message = "The reader region's cluster must carry no master credentials (it replicates them)."
  }

  assert {
    condition     = aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222" && aws_cloudwatch_log_group.postgresql.name == "/aws/rds/cluster/acme-prod-eu-west-1/postgresql" && aws_rds_cluster.this.final_snapshot_identifier == "final-acme-prod-eu-west-1"
    error_message = "The reader region's cluster must use its own region's key and names."
  }

  assert {
    condition     = aws_secretsmanager_secret.master.name == "gantry/acme-prod/aurora-master" && aws_secretsmanager_secret_version.master.secret_string == null && aws_secretsmanager_secret_version.master.secret_string_wo_version == 1
    error_message = "The reader region's secret must have the writer's name and be written write-only."
  }

  assert {
    condition     = terraform_data.writer_cluster.input == "cluster-WRITERCLUSTERRESOURCEID"
    error_message = "A recreated writer cluster (its resource ID) must rewrite the reader region's secret."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_ecs.referenced_security_group_id == "sg-0bbbbbbbbbbbbbbb1" && aws_security_group.this.vpc_id == "vpc-0bbbbbbbbbbbbbbb1"
    error_message = "The reader region's database must admit that region's ECS container instances only, in its VPC."
  }
}

run "short_backup_retention_is_refused" {
  command = plan

  variables {
    backup_retention_period = 3
  }

  expect_failures = [var.backup_retention_period]
}

run "other_engine_versions_are_refused" {
  command = plan

  variables {
    engine_version = "16.4"
  }

  expect_failures = [var.engine_version]
}

run "burstable_instance_classes_are_refused" {
  command = plan

  variables {
    instance_class = "db.t3.micro"
  }

  expect_failures = [var.instance_class]
}

run "a_single_subnet_and_cidr_sources_are_refused" {
  command = plan

  variables {
    secondary_subnet_ids          = ["subnet-0bbbbbbbbbbbbbbb1"]
    primary_ecs_security_group_id = "10.0.0.0/8"
  }

  expect_failures = [var.secondary_subnet_ids, var.primary_ecs_security_group_id]
}

run "invalid_names_are_refused" {
  command = plan

  variables {
    name = "Acme--Prod"
  }

  expect_failures = [var.name]
}

run "weak_master_passwords_are_refused" {
  command = plan

  variables {
    master_password = "short/pw"
  }

  expect_failures = [var.master_password]
}
