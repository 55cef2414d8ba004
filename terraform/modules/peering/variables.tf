variable "name" {
  type        = string
  description = "Name of the peering connection, e.g. `acme-prod-us-east-1-eu-west-1`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "requester_vpc_id" {
  type        = string
  description = "VPC in the default provider's region that requests the peering."
}

variable "requester_cidr_block" {
  type        = string
  description = "CIDR of the requester VPC (routed from the peer side)."

  validation {
    condition     = can(cidrhost(var.requester_cidr_block, 0))
    error_message = "requester_cidr_block must be a valid IPv4 CIDR."
  }
}

variable "requester_route_table_ids" {
  type        = map(string)
  description = "Requester route tables keyed by names known at plan time; values may be unknown until apply."
}

variable "peer_vpc_id" {
  type        = string
  description = "VPC in the `aws.peer` provider's region that accepts the peering."
}

variable "peer_cidr_block" {
  type        = string
  description = "CIDR of the peer VPC (routed from the requester side). Must not overlap the requester's."

  validation {
    condition     = can(cidrhost(var.peer_cidr_block, 0))
    error_message = "peer_cidr_block must be a valid IPv4 CIDR."
  }
}

variable "peer_route_table_ids" {
  type        = map(string)
  description = "Peer route tables keyed by names known at plan time; values may be unknown until apply."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the peering connection on both sides."
  default     = {}
}
