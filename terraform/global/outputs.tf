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
