mock_provider "aws" {}

mock_provider "aws" {
  alias = "peer"

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

variables {
  name                      = "acme-prod"
  requester_vpc_id          = "vpc-11111111"
  requester_cidr_block      = "10.40.0.0/16"
  requester_route_table_ids = { public = "rtb-1", "private-0" = "rtb-2", "private-1" = "rtb-3" }
  peer_vpc_id               = "vpc-22222222"
  peer_cidr_block           = "10.41.0.0/16"
  peer_route_table_ids      = { public = "rtb-4", "private-0" = "rtb-5" }
}

run "routes_on_both_sides" {
  command = plan

  assert {
    condition     = length(aws_route.requester_to_peer) == 3 && length(aws_route.peer_to_requester) == 2
    error_message = "Every route table on each side needs a route to the other VPC."
  }

  assert {
    condition     = alltrue([for r in aws_route.requester_to_peer : r.destination_cidr_block == "10.41.0.0/16"])
    error_message = "Requester routes must point at the peer CIDR."
  }

  assert {
    condition     = aws_vpc_peering_connection.this.peer_region == "eu-west-1"
    error_message = "The peering request must name the peer provider's region."
  }
}

run "overlapping_ranges_are_refused" {
  command = plan

  variables {
    peer_cidr_block = "10.40.128.0/17"
  }

  expect_failures = [aws_vpc_peering_connection.this]
}
