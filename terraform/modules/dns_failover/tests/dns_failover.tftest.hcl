mock_provider "aws" {}

variables {
  zone_id     = "Z123"
  record_name = "prod.acme.example.com"
  endpoints = {
    primary   = { alb_dns_name = "p.us-east-1.elb.amazonaws.com", alb_zone_id = "Z35SXDOTRQ7X7K" }
    secondary = { alb_dns_name = "s.eu-west-1.elb.amazonaws.com", alb_zone_id = "Z32O12XQLNTSW2" }
  }
}

run "primary_and_secondary_records" {
  command = plan

  assert {
    condition     = aws_route53_record.this["primary"].failover_routing_policy[0].type == "PRIMARY" && aws_route53_record.this["secondary"].failover_routing_policy[0].type == "SECONDARY"
    error_message = "Failover roles must map to PRIMARY and SECONDARY."
  }

  assert {
    condition     = aws_route53_health_check.this["secondary"].fqdn == "s.eu-west-1.elb.amazonaws.com" && aws_route53_health_check.this["primary"].resource_path == "/healthz"
    error_message = "Each region's load balancer is checked on /healthz."
  }
}

run "exactly_two_roles" {
  command = plan

  variables {
    endpoints = {
      primary = { alb_dns_name = "p.us-east-1.elb.amazonaws.com", alb_zone_id = "Z35SXDOTRQ7X7K" }
    }
  }

  expect_failures = [var.endpoints]
}
