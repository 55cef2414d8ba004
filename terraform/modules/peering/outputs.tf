output "peering_connection_id" {
  description = "ID of the accepted VPC peering connection."
  value       = aws_vpc_peering_connection_accepter.this.id
}

output "requester_route_keys" {
  description = "Names of the requester route tables that received a route to the peer."
  value       = keys(aws_route.requester_to_peer)
}

output "peer_route_keys" {
  description = "Names of the peer route tables that received a route to the requester."
  value       = keys(aws_route.peer_to_requester)
}
