output "trail_arn" {
  description = "ARN of the multi-region trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_bucket" {
  description = "S3 bucket receiving the trail."
  value       = aws_s3_bucket.trail.id
}

output "jenkins_role_arns" {
  description = "Deployment role ARN per environment, for the Jenkins credentials binding."
  value       = { for env, role in aws_iam_role.jenkins : env => role.arn }
}
