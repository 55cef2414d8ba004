data "aws_region" "peer" {
  provider = aws.peer
}

data "aws_caller_identity" "peer" {
  provider = aws.peer
}

locals {
  # Two blocks overlap when they share the network address at the shorter of their two prefixes.
  shortest_prefix = min(tonumber(split("/", var.requester_cidr_block)[1]), tonumber(split("/", var.peer_cidr_block)[1]))
  cidrs_overlap = (
    cidrhost("${split("/", var.requester_cidr_block)[0]}/${local.shortest_prefix}", 0) ==
    cidrhost("${split("/", var.peer_cidr_block)[0]}/${local.shortest_prefix}", 0)
  )
}

resource "aws_vpc_peering_connection" "this" {
  vpc_id        = var.requester_vpc_id
  peer_vpc_id   = var.peer_vpc_id
  peer_region   = data.aws_region.peer.region
  peer_owner_id = data.aws_caller_identity.peer.account_id
  # Cross-region requests cannot auto-accept; the accepter below does it in the peer region.
  auto_accept = false
  tags        = merge(var.tags, { Name = var.name })

  lifecycle {
    precondition {
      condition     = !local.cidrs_overlap
      error_message = "The peered VPCs' CIDR blocks overlap; give each region its own range."
    }
  }
}

resource "aws_vpc_peering_connection_accepter" "this" {
  provider = aws.peer

  vpc_peering_connection_id = aws_vpc_peering_connection.this.id
  auto_accept               = true
  # The same tags on both sides: the connection is one object (one ID) seen from two regions, and different
  # tags per side make each apply rewrite what the other side set.
  tags = merge(var.tags, { Name = var.name })
}

# for_each keys come from the callers' static names, so both VPCs can be created in the same apply:
# only the route table IDs (the values) are unknown at plan time, never the set of routes.
resource "aws_route" "requester_to_peer" {
  for_each = var.requester_route_table_ids

  route_table_id            = each.value
  destination_cidr_block    = var.peer_cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id
}

resource "aws_route" "peer_to_requester" {
  provider = aws.peer
  for_each = var.peer_route_table_ids

  route_table_id            = each.value
  destination_cidr_block    = var.requester_cidr_block
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.this.id
}
