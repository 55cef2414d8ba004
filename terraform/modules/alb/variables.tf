variable "name" {
  type        = string
  description = "Name prefix (at most 24 characters: load balancer and target group names are limited to 32)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name))
    error_message = "name must be 2-24 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer and its targets."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the VPC: the only destination the load balancer may send traffic to."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets, one per AZ (at least two)."

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two AZs."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in the load balancer's region) served by the HTTPS listener."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "target_port" {
  type        = number
  description = "Default port of the target group (ECS bridge mode registers each task's dynamic host port)."
  default     = 80
}

variable "health_check" {
  type = object({
    path                = string
    interval_seconds    = number
    timeout_seconds     = number
    healthy_threshold   = number
    unhealthy_threshold = number
  })
  description = "The target group's health check: the service contract's health.path and the target_group numbers of config/health-checks.yaml."
  default = {
    path                = "/healthz"
    interval_seconds    = 5
    timeout_seconds     = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  validation {
    condition = (
      can(regex("^/[A-Za-z0-9/_.~-]{0,199}$", var.health_check.path)) &&
      var.health_check.interval_seconds >= 5 && var.health_check.interval_seconds <= 300 &&
      var.health_check.timeout_seconds >= 2 && var.health_check.timeout_seconds < var.health_check.interval_seconds &&
      var.health_check.healthy_threshold >= 2 && var.health_check.healthy_threshold <= 10 &&
      var.health_check.unhealthy_threshold >= 2 && var.health_check.unhealthy_threshold <= 10
    )
    error_message = "health_check: path is / then up to 199 of A-Z a-z 0-9 / _ . ~ - (as the service contract's health.path), interval 5-300 s, timeout 2 s up to below the interval, thresholds 2-10."
  }
}

variable "deregistration_delay" {
  type        = number
  description = "Seconds the load balancer drains a target before deregistering it."
  default     = 10

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the load balancer through the API (turn off before destroying an environment)."
  default     = true
}

variable "access_log_retention_days" {
  type        = number
  description = "Days to keep access logs in the bucket."
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "force_destroy_logs" {
  type        = bool
  description = "Let `terraform destroy` delete the access-log bucket with its objects (test environments)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
