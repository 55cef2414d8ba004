# Renders the pipeline's policies for a two-environment customer; `terraform apply` needs no provider.
module "pipeline_iam" {
  source = "../.."

  customer               = "acme"
  account_id             = "111122223333"
  regions                = { primary = "us-east-1", secondary = "eu-west-1" }
  service_name           = "cart"
  environments           = { staging = { protected = false }, production = { protected = true, dr = true } }
  stacks                 = { staging = "test", production = "prod" }
  build_principal_arns   = ["arn:aws:iam::111122223333:role/jenkins-build-agent"]
  release_principal_arns = ["arn:aws:iam::111122223333:role/jenkins-release-agent"]
  lock_table             = "gantry-terraform-locks"
  sns_topic_arn          = "arn:aws:sns:us-east-1:111122223333:gantry-acme-pipeline"
  dr_hosted_zone_arn     = "arn:aws:route53:::hostedzone/Z0123456789EXAMPLE"
}

output "role_arns" {
  description = "Identity -> role ARN."
  value       = module.pipeline_iam.role_arns
}

output "production_guard" {
  description = "The service control policy."
  value       = module.pipeline_iam.production_guard
}
