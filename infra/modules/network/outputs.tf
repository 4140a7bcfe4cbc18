output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "The private subnets (nodes, Lambdas), one per AZ."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "The public subnets (NAT gateways, internet-facing load balancers)."
  value       = aws_subnet.public[*].id
}

output "cidr" {
  description = "The VPC's CIDR block."
  value       = aws_vpc.this.cidr_block
}
