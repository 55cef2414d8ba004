variable "zone_id" {
  type        = string
  description = "Route 53 hosted zone holding the record."
}

variable "record_name" {
  type        = string
  description = "Fully qualified name clients use, e.g. `prod.acme.example.com`."
}

variable "endpoints" {
  type = map(object({
    alb_dns_name = string
    alb_zone_id  = string
  }))
  description = "Load balancer per failover role; keys must be exactly `primary` and `secondary`."

  validation {
    condition     = toset(keys(var.endpoints)) == toset(["primary", "secondary"])
    error_message = "endpoints must have exactly the keys primary and secondary."
  }
}

variable "health_check_path" {
  type        = string
  description = "Path the Route 53 health checks request over HTTPS (the service contract's health.path)."
  default     = "/healthz"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/_.~-]{0,199}$", var.health_check_path))
    error_message = "health_check_path is / then up to 199 of A-Z a-z 0-9 / _ . ~ - (as the service contract's health.path)."
  }
}

variable "primary_search_string" {
  type        = string
  description = "When set, the primary region counts as healthy only while its health check body contains this (HTTPS_STR_MATCH): the record follows the database writer. The secondary's check wants HTTP 2xx/3xx only."
  default     = null
  nullable    = true

  validation {
    # length(null) fails, so try() lets a null through.
    condition     = try(length(var.primary_search_string) >= 1 && length(var.primary_search_string) <= 255, true)
    error_message = "primary_search_string must be 1 to 255 characters (Route 53's limit)."
  }
}

variable "failure_threshold" {
  type        = number
  description = "Consecutive failed checks before a region is considered down."
  default     = 3

  validation {
    condition     = var.failure_threshold >= 1 && var.failure_threshold <= 10
    error_message = "failure_threshold must be between 1 and 10."
  }
}

variable "request_interval" {
  type        = number
  description = "Seconds between health checks (10 or 30)."
  default     = 10

  validation {
    condition     = contains([10, 30], var.request_interval)
    error_message = "request_interval must be 10 or 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the health checks."
  default     = {}
}
