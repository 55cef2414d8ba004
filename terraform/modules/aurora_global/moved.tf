# Each region's resources moved into ./region (one call per provider): existing state follows them, nothing is
# replaced. Kept for stacks applied before the move.

moved {
  from = aws_db_subnet_group.primary
  to   = module.primary.aws_db_subnet_group.this
}

moved {
  from = aws_security_group.primary
  to   = module.primary.aws_security_group.this
}

moved {
  from = aws_vpc_security_group_ingress_rule.primary_from_ecs
  to   = module.primary.aws_vpc_security_group_ingress_rule.from_ecs
}

moved {
  from = aws_vpc_security_group_egress_rule.primary_ecs_to_db
  to   = module.primary.aws_vpc_security_group_egress_rule.ecs_to_db
}

moved {
  from = aws_rds_cluster_parameter_group.primary
  to   = module.primary.aws_rds_cluster_parameter_group.this
}

moved {
  from = aws_cloudwatch_log_group.postgresql_primary
  to   = module.primary.aws_cloudwatch_log_group.postgresql
}

moved {
  from = aws_rds_cluster.primary
  to   = module.primary.aws_rds_cluster.this
}

moved {
  from = aws_rds_cluster_instance.primary
  to   = module.primary.aws_rds_cluster_instance.this
}

moved {
  from = aws_secretsmanager_secret.primary
  to   = module.primary.aws_secretsmanager_secret.master
}

moved {
  from = aws_secretsmanager_secret_version.primary
  to   = module.primary.aws_secretsmanager_secret_version.master
}

moved {
  from = aws_secretsmanager_secret.app_primary
  to   = module.primary.aws_secretsmanager_secret.app
}

moved {
  from = aws_secretsmanager_secret_version.app_primary
  to   = module.primary.aws_secretsmanager_secret_version.app
}

moved {
  from = module.kms_primary
  to   = module.primary.module.kms
}

moved {
  from = aws_db_subnet_group.secondary
  to   = module.secondary.aws_db_subnet_group.this
}

moved {
  from = aws_security_group.secondary
  to   = module.secondary.aws_security_group.this
}

moved {
  from = aws_vpc_security_group_ingress_rule.secondary_from_ecs
  to   = module.secondary.aws_vpc_security_group_ingress_rule.from_ecs
}

moved {
  from = aws_vpc_security_group_egress_rule.secondary_ecs_to_db
  to   = module.secondary.aws_vpc_security_group_egress_rule.ecs_to_db
}

moved {
  from = aws_rds_cluster_parameter_group.secondary
  to   = module.secondary.aws_rds_cluster_parameter_group.this
}

moved {
  from = aws_cloudwatch_log_group.postgresql_secondary
  to   = module.secondary.aws_cloudwatch_log_group.postgresql
}

moved {
  from = aws_rds_cluster.secondary
  to   = module.secondary.aws_rds_cluster.this
}

moved {
  from = aws_rds_cluster_instance.secondary
  to   = module.secondary.aws_rds_cluster_instance.this
}

moved {
  from = aws_secretsmanager_secret.secondary
  to   = module.secondary.aws_secretsmanager_secret.master
}

moved {
  from = aws_secretsmanager_secret_version.secondary
  to   = module.secondary.aws_secretsmanager_secret_version.master
}

moved {
  from = aws_secretsmanager_secret.app_secondary
  to   = module.secondary.aws_secretsmanager_secret.app
}

moved {
  from = aws_secretsmanager_secret_version.app_secondary
  to   = module.secondary.aws_secretsmanager_secret_version.app
}

moved {
  from = module.kms_secondary
  to   = module.secondary.module.kms
}
