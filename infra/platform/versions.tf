terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.25"
    }
  }
  # State in S3 with a DynamoDB lock table, both created once per account before the first
  # `terraform init` (infra/README.md: "State"). The key and region are per environment
  # (envs/ENV/backend.hcl), the bucket and table per account; scripts/deploy passes all of them:
  #   terraform init -backend-config=../envs/dev/backend.hcl \
  #     -backend-config="bucket=ACCOUNT-selfheal-tfstate" -backend-config="dynamodb_table=selfheal-tfstate-lock"
  backend "s3" {}
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "selfheal"
      environment = var.environment
    }
  }
}
