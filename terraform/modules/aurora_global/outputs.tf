output "global_cluster_id" {
  description = "Identifier of the global cluster (`GlobalClusterIdentifier` of switchover_global_cluster / failover_global_cluster)."
  value       = aws_rds_global_cluster.this.id
}

output "global_cluster_arn" {
  description = "ARN of the global cluster, for IAM policies of the DR drill role."
  value       = aws_rds_global_cluster.this.arn
}

output "global_writer_endpoint" {
  description = "Global writer endpoint: always resolves to the writer of the current primary cluster."
  value       = aws_rds_global_cluster.this.endpoint
}

output "primary_cluster_identifier" {
  description = "Identifier of the cluster in the `aws.primary` region (`<name>-<region>`)."
  value       = module.primary.cluster_identifier
}

output "primary_cluster_arn" {
  description = "ARN of the primary region's cluster (`TargetDbClusterIdentifier` when switching or failing back to it)."
  value       = module.primary.cluster_arn
}

output "primary_writer_endpoint" {
  description = "Cluster (writer) endpoint of the primary region's cluster; read-only while that cluster is a secondary."
  value       = module.primary.writer_endpoint
}

output "primary_reader_endpoint" {
  description = "Reader endpoint of the primary region's cluster."
  value       = module.primary.reader_endpoint
}

output "secondary_cluster_identifier" {
  description = "Identifier of the cluster in the `aws.secondary` region (`<name>-<region>`)."
  value       = module.secondary.cluster_identifier
}

output "secondary_cluster_arn" {
  description = "ARN of the secondary region's cluster (`TargetDbClusterIdentifier` of a switchover or failover to it)."
  value       = module.secondary.cluster_arn
}

output "secondary_writer_endpoint" {
  description = "Cluster (writer) endpoint of the secondary region's cluster; accepts writes only after a switchover or failover."
  value       = module.secondary.writer_endpoint
}

output "secondary_reader_endpoint" {
  description = "Reader endpoint of the secondary region's cluster."
  value       = module.secondary.reader_endpoint
}

output "primary_secret_arn" {
  description = "ARN of the master credentials secret in the primary region (for `gantry migrate`)."
  value       = module.primary.secret_arn
}

output "secondary_secret_arn" {
  description = "ARN of the master credentials secret in the secondary region (for `gantry migrate` after a failover)."
  value       = module.secondary.secret_arn
}

output "secret_name" {
  description = "Name of the credentials secret, the same in both regions."
  value       = module.primary.secret_name
}

output "primary_kms_key_arn" {
  description = "KMS key of the primary region (storage, Performance Insights, secret, logs): tasks need kms:Decrypt on it."
  value       = module.primary.kms_key_arn
}

output "secondary_kms_key_arn" {
  description = "KMS key of the secondary region (storage, Performance Insights, secret, logs): tasks need kms:Decrypt on it."
  value       = module.secondary.kms_key_arn
}

output "primary_security_group_id" {
  description = "Security group of the primary region's cluster."
  value       = module.primary.security_group_id
}

output "secondary_security_group_id" {
  description = "Security group of the secondary region's cluster."
  value       = module.secondary.security_group_id
}

output "port" {
  description = "PostgreSQL port of every endpoint."
  value       = local.port
}

output "database_name" {
  description = "Database created in the global cluster."
  value       = var.database_name
}

output "regions" {
  description = "Per AWS region: cluster identifier and ARN, endpoints, secret and key ARNs (for task definitions keyed by region)."
  value = {
    (local.primary_region) = {
      cluster_identifier = module.primary.cluster_identifier
      cluster_arn        = module.primary.cluster_arn
      writer_endpoint    = module.primary.writer_endpoint
      reader_endpoint    = module.primary.reader_endpoint
      secret_arn         = module.primary.secret_arn
      app_secret_arn     = module.primary.app_secret_arn
      kms_key_arn        = module.primary.kms_key_arn
    }
    (local.secondary_region) = {
      cluster_identifier = module.secondary.cluster_identifier
      cluster_arn        = module.secondary.cluster_arn
      writer_endpoint    = module.secondary.writer_endpoint
      reader_endpoint    = module.secondary.reader_endpoint
      secret_arn         = module.secondary.secret_arn
      app_secret_arn     = module.secondary.app_secret_arn
      kms_key_arn        = module.secondary.kms_key_arn
    }
  }
}
