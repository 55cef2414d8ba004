output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "cidr_block" {
  description = "CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "AZs the subnets are spread over, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnet IDs (load balancers, NAT gateways), one per AZ."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs (container instances), one per AZ."
  value       = aws_subnet.private[*].id
}

output "route_table_ids" {
  description = "Every route table of the VPC keyed by a name known at plan time (`public`, `private-0`...), for peering routes."
  value = merge(
    { public = aws_route_table.public.id },
    { for index in local.az_indexes : "private-${index}" => aws_route_table.private[index].id },
  )
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (egress allow-lists)."
  value       = aws_eip.nat[*].public_ip
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
