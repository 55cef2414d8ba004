# tflint's built-in Terraform rules. The AWS ruleset is a plugin downloaded from GitHub, unreachable here.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
