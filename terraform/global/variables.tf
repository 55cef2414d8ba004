variable "customer" {
  type        = string
  description = "Customer whose account this applies to; reads terraform/live/<customer>/customer.json and its environments."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,10}[a-z0-9]$", var.customer))
    error_message = "customer must be 2-12 lowercase letters, digits or inner '-', starting with a letter."
  }
}

variable "build_agent_principal_arns" {
  type        = list(string)
  description = "IAM principals of the Jenkins build agents: they may assume the build role and the unprotected environments' roles."
}

variable "release_agent_principal_arns" {
  type        = list(string)
  description = "IAM principals of the Jenkins release agents, the only ones that may assume a protected environment's role."
}

variable "terraform_principal_arns" {
  type        = list(string)
  description = "Principals that apply Terraform to production: the production guard (service control policy output) exempts them besides the release roles."
  default     = []
}

variable "approval_admin_principal_arns" {
  type        = list(string)
  description = "Principals allowed to assume the approval-policy administrator role (the only writer of the approval policies); empty: no such role, only account administrators write them."
  default     = []
}

variable "approver_principal_arns" {
  type        = list(string)
  description = "Principals the approvers sign with (`gantry approve`): they may decrypt the pipeline's records through SSM, never write them."
  default     = []
}
