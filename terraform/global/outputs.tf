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

output "gantry_roles" {
  description = "Role per pipeline identity (build, each environment): gantry's aws.roles, and what the Jenkins credentials of each agent assume."
  value       = module.security_baseline.pipeline_role_arns
}

output "production_guard_policy" {
  description = "Service control policy denying every principal but the release roles (and terraform_principal_arns) what changes a protected environment: attach it to this account in AWS Organizations."
  value       = module.pipeline_iam.production_guard
}

output "approver_policy" {
  description = "Read-only policy for the approvers' own principals (what `gantry approve --print` reads): attach it to their permission set."
  value       = module.pipeline_iam.approver_policy
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
