output "cluster_identifier" {
  description = "Identifier of this region's cluster (`<name>-<region>`)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "ARN of this region's cluster (`TargetDbClusterIdentifier` of a switchover or failover to it)."
  value       = aws_rds_cluster.this.arn
}

output "cluster_resource_id" {
  description = "Resource ID of this region's cluster: a new one means a recreated cluster (and, in the writer region, a new master password)."
  value       = aws_rds_cluster.this.cluster_resource_id
}

output "writer_endpoint" {
  description = "Cluster (writer) endpoint; accepts writes only while this region's cluster is the primary."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint of this region's cluster."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "joinable_global_cluster_id" {
  description = "The global cluster this region's cluster is a member of, given only once this region's instances exist: a secondary region can join only after the writer has an instance."
  value       = aws_rds_cluster.this.global_cluster_identifier
  depends_on  = [aws_rds_cluster_instance.this]
}

output "secret_arn" {
  description = "ARN of the master credentials secret in this region (for `gantry migrate`)."
  value       = aws_secretsmanager_secret.master.arn
}

output "app_secret_arn" {
  description = "ARN of the runtime role's secret in this region (what the tasks read)."
  value       = aws_secretsmanager_secret.app.arn
}

output "secret_name" {
  description = "Name of the master secret, the same in every region."
  value       = aws_secretsmanager_secret.master.name
}

output "kms_key_arn" {
  description = "This region's key (storage, Performance Insights, secrets, logs)."
  value       = module.kms.key_arn
}

output "security_group_id" {
  description = "Security group of this region's cluster."
  value       = aws_security_group.this.id
}
