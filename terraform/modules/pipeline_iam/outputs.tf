output "roles" {
  description = "One role per identity: `build` and each environment. name, path, ARN, trust policy and inline policy (JSON), for modules/security_baseline to create."
  value = {
    for identity, name in local.role_names : identity => {
      name         = name
      path         = "/gantry-pipeline/"
      arn          = local.role_arns[identity]
      trust_policy = jsonencode(local.trust[identity])
      policy       = jsonencode(local.policies[identity])
    }
  }
}

output "role_arns" {
  description = "Identity -> role ARN, the shape of gantry's aws.roles."
  value       = local.role_arns
}

output "production_guard" {
  description = "Service control policy (JSON) denying every principal but the release roles (and guard_exempt_principal_arns) what changes a protected environment. Attach it to the customer's account in AWS Organizations."
  value       = jsonencode(local.production_guard)
}

output "approver_policy" {
  description = "Read-only policy (JSON) for the approvers' own principals: what `gantry approve --print` reads. Attach it to their permission set."
  value       = jsonencode(local.approver_policy)
}

output "approval_admin_policy" {
  description = "Policy (JSON) of the approval-policy administrator: the only writer of the approval policies."
  value       = jsonencode(local.approval_admin_policy)
}

output "approval_policy_parameters" {
  description = "Environment -> the SSM parameter holding its approval policy (what a protected service's gantry:approval-policy tag names)."
  value       = { for env in local.protected : env => "${local.policy_path}/${env}" }
}

output "records_paths" {
  description = "Environment -> the SSM path of its records (aws.records_path/<customer>/records/<environment>)."
  value       = { for env in keys(var.environments) : env => "/gantry/${var.customer}/records/${env}" }
}
