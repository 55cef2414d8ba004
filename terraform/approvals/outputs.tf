output "parameters" {
  description = "Region -> environment -> the approval policy parameter's name (what the protected services' gantry:approval-policy tags name)."
  value       = { for role, policy in module.policy : local.regions[role] => policy.parameter_names }
}
