output "name_servers" {
  description = "Delegate the customer's domain to these name servers."
  value       = aws_route53_zone.customer.name_servers
}

output "repository_urls" {
  description = "ECR repository URL per region."
  value       = module.ecr.repository_urls
}

output "source_clone_urls" {
  description = "CodeCommit clone URL per role."
  value       = module.source_mirror.clone_urls_http
}

output "jenkins_role_arns" {
  description = "Deploy role per environment."
  value       = module.security_baseline.jenkins_role_arns
}

output "environments" {
  description = "Environments found under terraform/live/<customer>/."
  value       = keys(local.environments)
}

output "records" {
  description = "The pipeline's records: aws.records_path and aws.records_kms_key (one alias, a key per region) for `gantry aws-import`."
  value = {
    path         = "/gantry"
    kms_key      = "alias/${local.records_alias}"
    kms_key_arns = { for role, key in module.records_kms : local.regions[role] => key.key_arn }
  }
}

output "pipeline_topic_arn" {
  description = "SNS topic of the pipeline's notifications (notifications.sns_topic_arn)."
  value       = aws_sns_topic.pipeline.arn
}

output "approval_policy_path" {
  description = "SSM path of the approval policies the protected services' gantry:approval-policy tags name."
  value       = local.approval_policy_path
}

output "approval_admin_role_arn" {
  description = "Role that writes the approval policies (null without approval_admin_principal_arns)."
  value       = module.security_baseline.approval_admin_role_arn
}
