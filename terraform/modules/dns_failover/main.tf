resource "aws_route53_health_check" "this" {
  for_each = var.endpoints

  type              = each.key == "primary" && var.primary_search_string != null ? "HTTPS_STR_MATCH" : "HTTPS"
  search_string     = each.key == "primary" ? var.primary_search_string : null
  fqdn              = each.value.alb_dns_name
  port              = 443
  resource_path     = var.health_check_path
  request_interval  = var.request_interval
  failure_threshold = var.failure_threshold
  # The load balancer's own name is checked, not the failover record, so a region is judged on its own.
  enable_sni = false
  tags       = merge(var.tags, { Name = "${var.record_name}-${each.key}" })
}

resource "aws_route53_record" "this" {
  for_each = var.endpoints

  #checkov:skip=CKV2_AWS_23:the alias targets are the regions' load balancers, passed in as variables
  zone_id         = var.zone_id
  name            = var.record_name
  type            = "A"
  set_identifier  = each.key
  health_check_id = aws_route53_health_check.this[each.key].id

  failover_routing_policy {
    type = upper(each.key)
  }

  alias {
    name                   = each.value.alb_dns_name
    zone_id                = each.value.alb_zone_id
    evaluate_target_health = true
  }
}
