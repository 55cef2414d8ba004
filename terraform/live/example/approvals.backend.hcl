bucket         = "gantry-tfstate-example-us-east-1"
key            = "approvals/example/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "gantry-terraform-locks"
encrypt        = true
