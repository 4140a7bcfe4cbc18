# State in S3 with a DynamoDB lock table, both created once per account before the first
# `terraform init` (infra/README.md: "State"). The bucket and table names are per account:
# pass them at init (scripts/deploy does):
#   terraform init -backend-config="bucket=ACCOUNT-selfheal-tfstate" -backend-config="dynamodb_table=selfheal-tfstate-lock"
terraform {
  backend "s3" {
    key     = "selfheal/prod/terraform.tfstate"
    region  = "eu-west-1"
    encrypt = true
  }
}
