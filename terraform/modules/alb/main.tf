data "aws_elb_service_account" "current" {}

data "aws_caller_identity" "current" {}

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Public HTTPS (and HTTP that only redirects) to the load balancer"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "http_redirect" {
  #checkov:skip=CKV_AWS_260:port 80 only answers with a redirect to HTTPS (listener "http" below)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet, answered with a redirect to HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "to_vpc" {
  security_group_id = aws_security_group.alb.id
  description       = "To targets inside the VPC only"
  cidr_ipv4         = var.vpc_cidr_block
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it to another bucket would recurse
  #checkov:skip=CKV_AWS_144:access logs are regional evidence; the other region has its own bucket
  #checkov:skip=CKV_AWS_145:ALB log delivery supports only SSE-S3, not SSE-KMS (AWS ELB documentation)
  #checkov:skip=CKV2_AWS_62:nothing consumes log-object events; Athena queries the prefix directly
  # The next three are met by module.access_logs_bucket (s3_bucket_baseline; tests/terraform/test_security.py
  # checks every bucket goes through it). checkov loses the reference when alb sits three modules deep.
  #checkov:skip=CKV2_AWS_6:public access block set by module.access_logs_bucket
  #checkov:skip=CKV2_AWS_61:lifecycle configuration set by module.access_logs_bucket
  #checkov:skip=CKV_AWS_21:versioning set by module.access_logs_bucket
  bucket_prefix = "${var.name}-alb-logs-"
  force_destroy = var.force_destroy_logs
  tags          = var.tags
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "ElbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
}

module "access_logs_bucket" {
  source = "../s3_bucket_baseline"

  bucket           = aws_s3_bucket.access_logs.id
  bucket_arn       = aws_s3_bucket.access_logs.arn
  kms_key_arn      = null # ALB log delivery supports SSE-S3 only (AWS ELB documentation)
  expiration_days  = var.access_log_retention_days
  policy_documents = [data.aws_iam_policy_document.access_logs.json]
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_150:deletion protection is var.deletion_protection, true by default and in production
  #checkov:skip=CKV2_AWS_28:WAF is a per-customer purchase decision; attach one with aws_wafv2_web_acl_association
  name                       = "${var.name}-alb"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  tags                       = var.tags

  # Naming the bucket through the module orders the ALB after the delivery policy, which ELB checks at creation.
  access_logs {
    bucket  = module.access_logs_bucket.bucket
    enabled = true
  }
}

resource "aws_lb_target_group" "this" {
  name_prefix          = substr(replace(var.name, "-", ""), 0, 6)
  port                 = var.target_port
  protocol             = "HTTP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  tags                 = var.tags

  health_check {
    enabled             = true
    path                = var.health_check.path
    matcher             = "200"
    interval            = var.health_check.interval_seconds
    timeout             = var.health_check.timeout_seconds
    healthy_threshold   = var.health_check.healthy_threshold
    unhealthy_threshold = var.health_check.unhealthy_threshold
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:this listener only redirects to HTTPS
  #checkov:skip=CKV_AWS_103:this listener only redirects to HTTPS; TLS policy is on the HTTPS listener
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}
