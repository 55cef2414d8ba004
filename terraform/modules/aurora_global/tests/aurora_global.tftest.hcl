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
  target = module.kms_primary
  outputs = {
    key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    key_id    = "11111111-1111-1111-1111-111111111111"
    alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/acme-prod-aurora-us-east-1"
  }
}

override_module {
  target = module.kms_secondary
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
}

run "storage_encrypted_with_each_regions_key" {
  command = plan

  assert {
    condition     = aws_rds_global_cluster.this.storage_encrypted && aws_rds_global_cluster.this.engine == "aurora-postgresql" && aws_rds_global_cluster.this.database_name == "cart"
    error_message = "The global database must be encrypted Aurora PostgreSQL with the cart database."
  }

  assert {
    condition     = aws_rds_cluster.primary.storage_encrypted && aws_rds_cluster.primary.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    error_message = "The primary cluster must be encrypted with the primary region's key."
  }

  assert {
    condition     = aws_rds_cluster.secondary.storage_encrypted && aws_rds_cluster.secondary.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    error_message = "The secondary cluster must be encrypted with the secondary region's key."
  }

  assert {
    condition     = aws_secretsmanager_secret.primary.kms_key_id == module.kms_primary.key_arn && aws_secretsmanager_secret.secondary.kms_key_id == module.kms_secondary.key_arn
    error_message = "Each region's secret must be encrypted with that region's key."
  }

  assert {
    condition     = aws_cloudwatch_log_group.postgresql_primary.kms_key_id == module.kms_primary.key_arn && aws_cloudwatch_log_group.postgresql_secondary.kms_key_id == module.kms_secondary.key_arn && aws_cloudwatch_log_group.postgresql_primary.retention_in_days >= 365
    error_message = "The exported PostgreSQL logs must be encrypted with the region's key and kept a year."
  }

  assert {
    condition     = aws_cloudwatch_log_group.postgresql_primary.name == "/aws/rds/cluster/acme-prod-us-east-1/postgresql" && aws_cloudwatch_log_group.postgresql_secondary.name == "/aws/rds/cluster/acme-prod-eu-west-1/postgresql"
    error_message = "The log groups must carry the names RDS exports to."
  }
}

run "no_cidr_ingress_only_the_ecs_nodes" {
  command = plan

  assert {
    condition = alltrue([
      for rule in [aws_vpc_security_group_ingress_rule.primary_from_ecs, aws_vpc_security_group_ingress_rule.secondary_from_ecs] :
      rule.cidr_ipv4 == null && rule.cidr_ipv6 == null && rule.prefix_list_id == null && rule.from_port == 5432 && rule.to_port == 5432 && rule.ip_protocol == "tcp"
    ])
    error_message = "Database ingress must be 5432/tcp from a security group, never from a CIDR or prefix list."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.primary_from_ecs.referenced_security_group_id == var.primary_ecs_security_group_id && aws_vpc_security_group_ingress_rule.secondary_from_ecs.referenced_security_group_id == var.secondary_ecs_security_group_id
    error_message = "Each region's database must admit that region's ECS container instances only."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.primary_ecs_to_db.security_group_id == var.primary_ecs_security_group_id && aws_vpc_security_group_egress_rule.primary_ecs_to_db.cidr_ipv4 == null && aws_vpc_security_group_egress_rule.secondary_ecs_to_db.cidr_ipv4 == null
    error_message = "The ECS nodes' egress to the database must target the database's security group, not a CIDR."
  }

  assert {
    condition     = aws_security_group.primary.vpc_id == var.primary_vpc_id && aws_security_group.secondary.vpc_id == var.secondary_vpc_id
    error_message = "Each security group must be in its own region's VPC."
  }

  assert {
    condition     = aws_db_subnet_group.primary.subnet_ids == toset(var.primary_subnet_ids) && aws_db_subnet_group.secondary.subnet_ids == toset(var.secondary_subnet_ids)
    error_message = "The subnet groups must use the given private subnets."
  }
}

run "deletion_protection_and_backups_by_default" {
  command = plan

  assert {
    condition     = aws_rds_global_cluster.this.deletion_protection && aws_rds_cluster.primary.deletion_protection && aws_rds_cluster.secondary.deletion_protection
    error_message = "Deletion protection must be on by default for the global cluster and both regional clusters."
  }

  assert {
    condition     = aws_rds_cluster.primary.backup_retention_period >= 7 && aws_rds_cluster.secondary.backup_retention_period >= 7
    error_message = "Both clusters must keep at least 7 days of backups."
  }

  assert {
    condition     = !aws_rds_cluster.primary.skip_final_snapshot && aws_rds_cluster.primary.final_snapshot_identifier == "final-acme-prod-us-east-1" && aws_rds_cluster.secondary.final_snapshot_identifier == "final-acme-prod-eu-west-1"
    error_message = "Both clusters must take a named final snapshot."
  }

  assert {
    condition = alltrue([
      for cluster in [aws_rds_cluster.primary, aws_rds_cluster.secondary] :
      cluster.iam_database_authentication_enabled && cluster.copy_tags_to_snapshot && !cluster.apply_immediately && cluster.enabled_cloudwatch_logs_exports == toset(["postgresql"])
    ])
    error_message = "Both clusters need IAM authentication, tagged snapshots, no immediate changes and exported logs."
  }
}

run "secondary_joins_the_global_cluster_without_credentials" {
  command = plan

  assert {
    condition     = aws_rds_cluster.secondary.master_password == null && aws_rds_cluster.secondary.master_password_wo_version == null && aws_rds_cluster.secondary.manage_master_user_password == null
    error_message = "The secondary cluster must not carry master credentials."
  }

  assert {
    condition     = aws_rds_cluster.primary.master_username == "cart_admin" && aws_rds_cluster.primary.master_password == null && aws_rds_cluster.primary.master_password_wo_version == 1
    error_message = "The primary's password must reach RDS only through the write-only argument."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.primary.secret_string == null && aws_secretsmanager_secret_version.secondary.secret_string == null && aws_secretsmanager_secret_version.secondary.secret_string_wo_version == 1
    error_message = "Both secrets must be written through the write-only argument, keeping the password out of state."
  }

  assert {
    condition     = aws_secretsmanager_secret.primary.name == aws_secretsmanager_secret.secondary.name
    error_message = "The secret must have the same name in both regions."
  }
}

run "performance_insights_encrypted_per_region" {
  command = plan

  assert {
    condition     = length(aws_rds_cluster_instance.primary) == 2 && length(aws_rds_cluster_instance.secondary) == 2
    error_message = "instance_count instances are expected in each region."
  }

  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.primary : i.performance_insights_enabled && i.performance_insights_kms_key_id == module.kms_primary.key_arn && !i.publicly_accessible])
    error_message = "Primary instances must have Performance Insights encrypted with the primary key and no public access."
  }

  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.secondary : i.performance_insights_enabled && i.performance_insights_kms_key_id == module.kms_secondary.key_arn && !i.publicly_accessible])
    error_message = "Secondary instances must have Performance Insights encrypted with the secondary key and no public access."
  }

  assert {
    condition     = alltrue([for i in concat(aws_rds_cluster_instance.primary, aws_rds_cluster_instance.secondary) : i.monitoring_interval == 60 && i.auto_minor_version_upgrade && !i.apply_immediately])
    error_message = "Instances must have Enhanced Monitoring, minor upgrades and no immediate changes by default."
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 1
    error_message = "One Enhanced Monitoring role serves both regions."
  }
}

run "force_ssl_and_logging_in_both_parameter_groups" {
  command = plan

  assert {
    condition     = anytrue([for p in aws_rds_cluster_parameter_group.primary.parameter : p.name == "rds.force_ssl" && p.value == "1"]) && anytrue([for p in aws_rds_cluster_parameter_group.secondary.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "Both parameter groups must set rds.force_ssl = 1."
  }

  assert {
    condition     = aws_rds_cluster_parameter_group.primary.family == "aurora-postgresql15" && aws_rds_cluster_parameter_group.secondary.family == "aurora-postgresql15"
    error_message = "Both parameter groups must be of the aurora-postgresql15 family."
  }

  assert {
    condition     = anytrue([for p in aws_rds_cluster_parameter_group.secondary.parameter : p.name == "log_min_duration_statement" && p.value == "1000"]) && anytrue([for p in aws_rds_cluster_parameter_group.primary.parameter : p.name == "log_statement" && p.value == "ddl"])
    error_message = "Slow statements and DDL must be logged."
  }

  assert {
    condition     = aws_rds_cluster.primary.db_cluster_parameter_group_name == aws_rds_cluster_parameter_group.primary.name && aws_rds_cluster.secondary.db_cluster_parameter_group_name == aws_rds_cluster_parameter_group.secondary.name
    error_message = "Each cluster must use its region's parameter group."
  }
}

run "monitoring_can_be_turned_off" {
  command = plan

  variables {
    monitoring_interval = 0
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && alltrue([for i in aws_rds_cluster_instance.primary : i.monitoring_interval == 0])
    error_message = "monitoring_interval = 0 must create no monitoring role."
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
