output "service_name" {
  description = "Name of the ECS service (the pipeline's `update-service` target)."
  value       = aws_ecs_service.this.name
}

output "task_family" {
  description = "Task definition family the pipeline registers new revisions in."
  value       = aws_ecs_task_definition.bootstrap.family
}

output "bootstrap_task_definition_arn" {
  description = "Revision Terraform registered; the running revision is whatever the pipeline deployed last."
  value       = aws_ecs_task_definition.bootstrap.arn
}

output "execution_role_arn" {
  description = "Execution role the pipeline passes when it registers a revision."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "Task role the pipeline passes when it registers a revision."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the containers (the template's `log_group`)."
  value       = aws_cloudwatch_log_group.this.name
}

output "migration_execution_role_arn" {
  description = "Execution role of the migration task (reads the master credentials); null without migration_secret_arns."
  value       = one(aws_iam_role.migration_execution[*].arn)
}

output "protected" {
  description = "Whether the service carries the protection tags."
  value       = var.approval_policy_parameter != null
}
