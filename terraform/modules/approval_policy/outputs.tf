output "parameter_names" {
  description = "Environment -> parameter name."
  value       = { for env, parameter in aws_ssm_parameter.policy : env => parameter.name }
}

output "parameter_arns" {
  description = "Environment -> parameter ARN."
  value       = { for env, parameter in aws_ssm_parameter.policy : env => parameter.arn }
}
