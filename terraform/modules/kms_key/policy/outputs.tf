output "json" {
  description = "The key policy document."
  value       = jsonencode(local.policy)
}
