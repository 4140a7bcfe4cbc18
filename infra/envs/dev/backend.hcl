# The dev environment's state: terraform init -backend-config=../envs/dev/backend.hcl (scripts/deploy).
key     = "selfheal/dev/terraform.tfstate"
region  = "eu-west-1"
encrypt = true
