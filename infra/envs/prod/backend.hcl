# The prod environment's state: terraform init -backend-config=../envs/prod/backend.hcl (scripts/deploy).
key     = "selfheal/prod/terraform.tfstate"
region  = "eu-west-1"
encrypt = true
