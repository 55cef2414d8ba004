variable "customer" {
  type        = string
  description = "Customer whose approval policies these are; reads terraform/live/<customer>/customer.json and approvals.json."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,10}[a-z0-9]$", var.customer))
    error_message = "customer must be 2-12 lowercase letters, digits or inner '-', starting with a letter."
  }
}
