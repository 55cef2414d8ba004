bucket         = "gantry-tfstate-example-us-east-1"
key            = "live/example/prod/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "gantry-terraform-locks"
encrypt        = true
