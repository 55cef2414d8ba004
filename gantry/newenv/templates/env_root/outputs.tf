output "url" {
  description = "Failover URL of the environment."
  value       = "https://${module.dns_failover.fqdn}"
}

output "deploy_targets" {
  description = "Per-region cluster, service, task family and roles the pipeline deploys to."
  value = {
    (module.primary.region)   = module.primary.deploy_target
    (module.secondary.region) = module.secondary.deploy_target
  }
}

output "alarm_topic_arns" {
  description = "Alarm topic per region role."
  value       = module.monitoring.topic_arns
}

output "dashboard" {
  description = "CloudWatch dashboard covering both regions."
  value       = module.monitoring.dashboard_name
}

output "database" {
  description = "Global database: identifier, ARNs for the DR drill, endpoints and secrets per region."
  value = {
    global_cluster_id      = module.aurora.global_cluster_id
    global_cluster_arn     = module.aurora.global_cluster_arn
    global_writer_endpoint = module.aurora.global_writer_endpoint
    regions                = module.aurora.regions
  }
}

output "failover" {
  description = "The Route 53 failover pair `gantry dr drill` moves: zone, record name and the primary record's health check."
  value = {
    hosted_zone_id  = data.aws_route53_zone.customer.zone_id
    record_name     = module.dns_failover.fqdn
    health_check_id = module.dns_failover.health_check_ids["primary"]
  }
}

output "records" {
  description = "Where gantry keeps its records: aws.records_path and aws.records_kms_key (the global root's key, one alias in both regions)."
  value = {
    path        = "/gantry"
    kms_key     = data.aws_kms_alias.records.name
    kms_key_arn = data.aws_kms_alias.records.target_key_arn
  }
}

output "pipeline_environment" {
  description = "gantry's name of the environment this stack hosts (`gantry aws-import --env`)."
  value       = local.pipeline_environment
}
