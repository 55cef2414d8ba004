terraform {
  # Pure: no provider, no resource. The policies are plain values, so they render (and the least-privilege
  # tests read them) with nothing but Terraform itself; modules/security_baseline creates the roles.
  required_version = ">= 1.10"
}
