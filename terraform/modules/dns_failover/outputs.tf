output "fqdn" {
  description = "Name clients use; it resolves to the primary load balancer while it is healthy."
  value       = var.record_name
}

output "health_check_ids" {
  description = "Route 53 health check ID per failover role."
  value       = { for role, check in aws_route53_health_check.this : role => check.id }
}
