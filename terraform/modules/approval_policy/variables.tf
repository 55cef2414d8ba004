variable "region" {
  type        = string
  description = "Region of the parameters (AWS provider 6's per-resource region); one module call per region."
}

variable "customer" {
  type        = string
  description = "Customer name: the parameters are /gantry-approval-policy/<customer>/<environment>."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,10}[a-z0-9]$", var.customer))
    error_message = "customer must be 2-12 lowercase letters, digits or inner '-', starting with a letter."
  }
}

variable "policies" {
  type        = map(string)
  description = "Protected environment -> its approval policy as JSON (gantry.approvals.ApprovalPolicy: allowed_signers, max_age_hours, separation_of_duties, allow_wildcard_signers)."

  validation {
    condition     = length(var.policies) > 0 && alltrue([for p in values(var.policies) : can(jsondecode(p).allowed_signers)])
    error_message = "Each policy must be JSON with an allowed_signers text."
  }

  validation {
    condition = alltrue([
      for p in values(var.policies) : try(jsondecode(p).allow_wildcard_signers, false) || alltrue([
        for line in split("\n", jsondecode(p).allowed_signers) :
        trimspace(line) == "" || startswith(trimspace(line), "#") || (!strcontains(split(" ", trimspace(line))[0], "*") && !strcontains(split(" ", trimspace(line))[0], "?") && !strcontains(split(" ", trimspace(line))[0], "!") && !strcontains(line, "cert-authority"))
      ])
    ])
    error_message = "Allowed signers must name each approver: no wildcard, negated or cert-authority line (unless allow_wildcard_signers)."
  }
}

variable "kms_key_id" {
  type        = string
  description = "KMS key (ID, ARN or alias in the region) encrypting the parameters: the records key, which the pipeline's roles use through SSM."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every parameter."
  default     = {}
}
