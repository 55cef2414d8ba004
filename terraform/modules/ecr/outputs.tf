output "repository_urls" {
  description = "Repository URL per `<region>/<name>` key."
  value       = { for key, repo in aws_ecr_repository.this : key => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per `<region>/<name>` key."
  value       = { for key, repo in aws_ecr_repository.this : key => repo.arn }
}

output "registry_id" {
  description = "Account ID of the registry."
  value       = values(aws_ecr_repository.this)[0].registry_id
}

output "replication_regions" {
  description = "Regions images are replicated to, empty when this instance does not own replication."
  value       = var.manage_replication ? var.replica_regions : []
}
