variable "name" {
  type        = string
  description = "Name prefix of the topics, alarms and dashboard, e.g. `acme-prod`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "regions" {
  type = map(object({
    region                  = string
    alb_arn_suffix          = string
    target_group_arn_suffix = string
    cluster_name            = string
    service_name            = string
    autoscaling_group_name  = string
    kms_key_arn             = string
  }))
  description = "What to watch in each region, keyed by role (`primary`, `secondary`); the key encrypts that region's topic."

  validation {
    condition     = length(var.regions) >= 1 && length(distinct([for r in values(var.regions) : r.region])) == length(var.regions)
    error_message = "regions needs at least one entry and each entry its own AWS region."
  }
}

variable "alarm_emails" {
  type        = list(string)
  description = "E-mail addresses subscribed to every region's alarm topic (each must confirm once)."
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "alarm_https_endpoints" {
  type        = list(string)
  description = "HTTPS webhooks (e.g. the pipeline's notifier) subscribed to every region's alarm topic."
  default     = []

  validation {
    condition     = alltrue([for u in var.alarm_https_endpoints : startswith(u, "https://")])
    error_message = "alarm_https_endpoints must be https:// URLs."
  }
}

variable "error_threshold" {
  type        = number
  description = "5xx responses per minute (load balancer or targets) that raise an alarm."
  default     = 10
}

variable "utilisation_threshold" {
  type        = number
  description = "ECS service CPU or memory utilisation (percent) that raises an alarm."
  default     = 80
}

variable "tags" {
  type        = map(string)
  description = "Tags added to topics and alarms."
  default     = {}
}
