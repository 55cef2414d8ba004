terraform {
  # Pure: the key policy as a value, so the least-privilege tests render it with Terraform alone.
  required_version = ">= 1.10"
}
