variable "name" {
  type        = string
  description = "Name prefix for every resource, e.g. `acme-prod`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter (2-41 characters)."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC, a private range between /16 and /24. Must not overlap the peer region."

  validation {
    condition = (
      can(cidrhost(var.cidr_block, 0)) &&
      tonumber(split("/", var.cidr_block)[1]) >= 16 &&
      tonumber(split("/", var.cidr_block)[1]) <= 24
    )
    error_message = "cidr_block must be a valid IPv4 CIDR with a prefix length between 16 and 24."
  }
}

variable "az_count" {
  type        = number
  description = "Number of availability zones to spread subnets over."
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Explicit AZ names; empty means the first `az_count` available zones of the region."
  default     = []
}

variable "subnet_newbits" {
  type        = number
  description = "Bits added to the VPC prefix for each subnet (4 turns a /16 into /20 subnets)."
  default     = 4

  validation {
    condition     = var.subnet_newbits >= 3 && var.subnet_newbits <= 8
    error_message = "subnet_newbits must be between 3 and 8 (room for public and private subnets in every AZ)."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all AZs (cheaper, loses egress if that AZ fails) instead of one per AZ."
  default     = false
}

variable "interface_endpoints" {
  type        = list(string)
  description = "AWS services reached through interface VPC endpoints, so private subnets need no NAT for them."
  default     = ["ecr.api", "ecr.dkr", "ssm", "ssmmessages", "ec2messages", "logs", "ecs", "ecs-agent", "ecs-telemetry"]
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the flow-log log group (the key must allow CloudWatch Logs)."
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days to keep VPC flow logs."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch retention value of at least one year."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
