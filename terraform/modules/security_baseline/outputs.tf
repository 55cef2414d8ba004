output "trail_arn" {
  description = "ARN of the multi-region trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_bucket" {
  description = "S3 bucket receiving the trail."
  value       = aws_s3_bucket.trail.id
}

output "pipeline_role_arns" {
  description = "Identity (build, each environment) -> role ARN: gantry's aws.roles, and what the Jenkins agents assume."
  value       = { for identity, role in aws_iam_role.pipeline : identity => role.arn }
}

output "approval_admin_role_arn" {
  description = "Role that writes the approval policies (null without approval_admin_principal_arns)."
  value       = one(aws_iam_role.approval_admin[*].arn)
}
