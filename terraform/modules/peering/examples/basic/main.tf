terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

provider "aws" {
  alias  = "peer"
  region = "eu-west-1"
}

# Both VPCs are created in the same apply as the peering: the module's routes are keyed by static names.
resource "aws_vpc" "requester" {
  #checkov:skip=CKV2_AWS_11:throw-away example VPC; real VPCs come from the network module, which enables flow logs
  #checkov:skip=CKV2_AWS_12:throw-away example VPC; the network module locks the default security group down
  cidr_block = "10.91.0.0/16"
}

resource "aws_route_table" "requester" {
  vpc_id = aws_vpc.requester.id
}

resource "aws_vpc" "peer" {
  #checkov:skip=CKV2_AWS_11:throw-away example VPC; real VPCs come from the network module, which enables flow logs
  #checkov:skip=CKV2_AWS_12:throw-away example VPC; the network module locks the default security group down
  provider   = aws.peer
  cidr_block = "10.92.0.0/16"
}

resource "aws_route_table" "peer" {
  provider = aws.peer
  vpc_id   = aws_vpc.peer.id
}

module "peering" {
  source = "../.."
  providers = {
    aws      = aws
    aws.peer = aws.peer
  }

  name                      = "example"
  requester_vpc_id          = aws_vpc.requester.id
  requester_cidr_block      = aws_vpc.requester.cidr_block
  requester_route_table_ids = { main = aws_route_table.requester.id }
  peer_vpc_id               = aws_vpc.peer.id
  peer_cidr_block           = aws_vpc.peer.cidr_block
  peer_route_table_ids      = { main = aws_route_table.peer.id }
}

output "peering_connection_id" {
  description = "ID of the example peering connection."
  value       = module.peering.peering_connection_id
}
