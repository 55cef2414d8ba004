variable "environment" {
  type        = string
  description = "Environment name; the directory name of this root."
}

variable "primary_cidr" {
  type        = string
  description = "VPC CIDR in the primary region."
}

variable "secondary_cidr" {
  type        = string
  description = "VPC CIDR in the secondary region; must not overlap primary_cidr."
}

variable "production" {
  type        = bool
  description = "Production settings: NAT per AZ, deletion protection, more capacity."
}

variable "alarm_emails" {
  type        = list(string)
  description = "Addresses notified by the alarms of both regions."
  default     = []
}

variable "bootstrap_image_tag" {
  type        = string
  description = "Image tag of the first task definition revision; the pipeline deploys every later one."
  default     = "bootstrap"
}

variable "pipeline_environment" {
  type        = string
  description = "gantry's name of the environment this stack hosts (records, leases, approvals); null: production for a production stack, staging otherwise."
  default     = null

  validation {
    condition     = var.pipeline_environment == null || can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.pipeline_environment))
    error_message = "pipeline_environment must be 2-32 lowercase letters, digits or inner '-'."
  }
}
