"""`gantry new-env`: scaffold a customer environment's Terraform roots from one template."""
