output "clone_urls_http" {
  description = "HTTPS clone URL per role (`primary`, `secondary`)."
  value       = { for role, repo in aws_codecommit_repository.this : role => repo.clone_url_http }
}

output "repository_arns" {
  description = "Repository ARN per role."
  value       = { for role, repo in aws_codecommit_repository.this : role => repo.arn }
}

output "mirror_policy_json" {
  description = "Least-privilege IAM policy for the mirror job: read the primary, push to the secondary."
  value       = data.aws_iam_policy_document.mirror.json
}
