resource "aws_ssm_parameter" "policy" {
  for_each = var.policies

  region      = var.region
  name        = "/gantry-approval-policy/${var.customer}/${each.key}"
  description = "Who may approve deploys to ${var.customer}/${each.key} (gantry approval policy)"
  type        = "SecureString"
  key_id      = var.kms_key_id
  value       = each.value
  tier        = length(each.value) > 4096 ? "Advanced" : "Standard"
  tags        = var.tags
}
