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
