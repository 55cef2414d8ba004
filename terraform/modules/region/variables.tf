variable "customer" {
  type        = string
  description = "Customer name (lowercase, at most 12 characters), e.g. `acme`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,10}[a-z0-9]$", var.customer))
    error_message = "customer must be 2-12 lowercase letters, digits or inner '-', starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name (at most 10 characters), e.g. `prod`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "role" {
  type        = string
  description = "Failover role of this region: `primary` or `secondary`."

  validation {
    condition     = contains(["primary", "secondary"], var.role)
    error_message = "role must be primary or secondary."
  }
}

variable "service_name" {
  type        = string
  description = "Service deployed by the pipeline, e.g. `cart`."
}

variable "cidr_block" {
  type        = string
  description = "VPC CIDR of this region (must not overlap the other region or any other environment)."

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && anytrue([for private in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] : cidrsubnet(private, 0, 0) == cidrsubnet("${cidrhost(var.cidr_block, 0)}/${split("/", private)[1]}", 0, 0)])
    error_message = "cidr_block must be a CIDR inside a private (RFC 1918) range."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway instead of one per AZ (cheaper, for non-production environments)."
  default     = false
}

variable "domain" {
  type        = string
  description = "Customer DNS zone name, e.g. `acme.example.com`; the environment is served at `<environment>.<domain>`."
}

variable "zone_id" {
  type        = string
  description = "Route 53 zone of `domain`, for certificate validation records."
}

variable "ami_ssm_parameter" {
  type        = string
  description = "SSM parameter holding the golden ECS AMI ID in this region."
}

variable "instance_type" {
  type        = string
  description = "Container instance type."
  default     = "t3.small"
}

variable "min_instances" {
  type        = number
  description = "Minimum container instances."
  default     = 1
}

variable "max_instances" {
  type        = number
  description = "Maximum container instances."
  default     = 4
}

variable "container_port" {
  type        = number
  description = "Port the service's container listens on."
  default     = 80
}

variable "cpu" {
  type        = number
  description = "CPU units of the service's container."
  default     = 256
}

variable "memory" {
  type        = number
  description = "Memory (MiB) of the service's container."
  default     = 256
}

variable "min_tasks" {
  type        = number
  description = "Minimum running tasks of the service."
  default     = 2
}

variable "max_tasks" {
  type        = number
  description = "Maximum running tasks of the service."
  default     = 6
}

variable "bootstrap_image_tag" {
  type        = string
  description = "Tag of the image in this region's ECR repository used by the first task definition revision."
  default     = "bootstrap"
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion (true for production)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "database" {
  type = map(object({
    cluster_identifier = string
    cluster_arn        = string
    writer_endpoint    = string
    reader_endpoint    = string
    secret_arn         = string
    app_secret_arn     = string
    kms_key_arn        = string
  }))
  description = "The aurora_global module's `regions` output (both regions); this stack uses its own region's entry."
  default     = {}
}

variable "health_check" {
  type = object({
    path                = string
    interval_seconds    = number
    timeout_seconds     = number
    healthy_threshold   = number
    unhealthy_threshold = number
  })
  description = "The load balancer's target health check (config/health-checks.yaml, target_group); the alb module validates it."
}

variable "deregistration_delay" {
  type        = number
  description = "Seconds the load balancer drains a deregistering task (config/health-checks.yaml)."
  default     = 10
}

variable "approval_policy_parameter" {
  type        = string
  description = "The approval policy parameter of a protected environment (its services are tagged with it); null: not protected."
  default     = null
}
