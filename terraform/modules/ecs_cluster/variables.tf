variable "name" {
  type        = string
  description = "Cluster name, e.g. `acme-prod` (the same in both regions)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter (2-41 characters)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the container instances."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets the Auto Scaling group launches instances into."

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Spread container instances over at least two private subnets."
  }
}

variable "ami_ssm_parameter" {
  type        = string
  description = "SSM parameter holding the golden AMI ID (written by the Packer build), e.g. `/gantry/<customer>/golden-ami/ecs-host/latest`."

  validation {
    condition     = startswith(var.ami_ssm_parameter, "/")
    error_message = "ami_ssm_parameter must be a parameter path starting with '/'."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the container instances."
  default     = "t3.small"
}

variable "min_size" {
  type        = number
  description = "Minimum number of container instances."
  default     = 1
}

variable "max_size" {
  type        = number
  description = "Maximum number of container instances (managed scaling never exceeds it)."
  default     = 4

  validation {
    condition     = var.max_size >= 1
    error_message = "max_size must be at least 1."
  }
}

variable "root_volume_size" {
  type        = number
  description = "Root volume size in GiB."
  default     = 30
}

variable "ebs_kms_key_arn" {
  type        = string
  description = "KMS key for the instance volumes; null uses the account's default EBS key (volumes are encrypted either way)."
  default     = null
}

variable "target_capacity" {
  type        = number
  description = "Capacity-provider managed scaling target, in percent of cluster utilisation."
  default     = 90

  validation {
    condition     = var.target_capacity >= 1 && var.target_capacity <= 100
    error_message = "target_capacity must be between 1 and 100."
  }
}

variable "container_insights" {
  type        = string
  description = "Container Insights level: `enabled` or `enhanced`."
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced"], var.container_insights)
    error_message = "container_insights must be enabled or enhanced (it is never turned off)."
  }
}

variable "enable_bastion" {
  type        = bool
  description = "Launch a bastion instance reachable only through SSM Session Manager (no SSH port is opened)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
