output "region" {
  description = "AWS region of this stack."
  value       = local.region
}

output "vpc_id" {
  description = "VPC ID."
  value       = module.network.vpc_id
}

output "cidr_block" {
  description = "VPC CIDR."
  value       = module.network.cidr_block
}

output "route_table_ids" {
  description = "Route tables keyed by plan-time names, for peering."
  value       = module.network.route_table_ids
}

output "private_subnet_ids" {
  description = "Private subnet IDs, for the database subnet group."
  value       = module.network.private_subnet_ids
}

output "node_security_group_id" {
  description = "Security group of the ECS container instances, the only source the database admits."
  value       = module.ecs_cluster.node_security_group_id
}

output "alb_dns_name" {
  description = "Load balancer DNS name (failover record target)."
  value       = module.alb.dns_name
}

output "alb_zone_id" {
  description = "Load balancer hosted zone (failover record target)."
  value       = module.alb.zone_id
}

output "monitoring_target" {
  description = "What the monitoring module watches in this region."
  value = {
    region                  = local.region
    alb_arn_suffix          = module.alb.alb_arn_suffix
    target_group_arn_suffix = module.alb.target_group_arn_suffix
    cluster_name            = module.ecs_cluster.cluster_name
    service_name            = module.ecs_service.service_name
    autoscaling_group_name  = module.ecs_cluster.autoscaling_group_name
    kms_key_arn             = module.kms.key_arn
  }
}

output "deploy_target" {
  description = "What the pipeline's deploy stage needs in this region."
  value = {
    cluster            = module.ecs_cluster.cluster_name
    service            = module.ecs_service.service_name
    task_family        = module.ecs_service.task_family
    execution_role_arn = module.ecs_service.execution_role_arn
    task_role_arn      = module.ecs_service.task_role_arn
    log_group          = module.ecs_service.log_group_name
    url                = "https://${aws_route53_record.regional.fqdn}"
    db_secret_arn      = try(local.database.app_secret_arn, null)
    # The migration task's execution role: it alone reads the master credentials.
    migration_execution_role_arn = module.ecs_service.migration_execution_role_arn
    db_endpoint                  = try(local.database.writer_endpoint, null)
  }
}
