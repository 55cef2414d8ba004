output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "capacity_provider_name" {
  description = "Capacity provider services should place tasks with."
  value       = aws_ecs_capacity_provider.this.name
}

output "autoscaling_group_name" {
  description = "Auto Scaling group of the container instances (CloudWatch `AutoScalingGroupName` dimension)."
  value       = aws_autoscaling_group.node.name
}

output "node_security_group_id" {
  description = "Security group of the container instances; the caller allows the load balancer in."
  value       = aws_security_group.node.id
}

output "node_role_name" {
  description = "IAM role of the container instances."
  value       = aws_iam_role.node.name
}

output "ami_id" {
  description = "Golden AMI the launch template uses (from the SSM parameter)."
  value       = data.aws_ssm_parameter.ami.insecure_value
}

output "bastion_instance_id" {
  description = "Instance ID of the SSM-only bastion, or null when it is disabled."
  value       = one(aws_instance.bastion[*].id)
}
