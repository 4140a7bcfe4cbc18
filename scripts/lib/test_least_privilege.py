#!/usr/bin/env python3
"""least_privilege.py must catch a policy or an environment that drifts from the code: each case
changes one thing in a copy of the workspace's sources and infra/, and expects it named."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TF = "infra/modules/functions/main.tf"


def check(edit_file=None, old=None, new=None):
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d)
        for f in ("Cargo.toml", "Cargo.lock"):
            shutil.copy(ROOT / f, out / f)
        for part in ("crates", "functions", "infra", "statemachines"):
            shutil.copytree(ROOT / part, out / part, ignore=shutil.ignore_patterns("target", "node_modules"))
        if edit_file:
            path = out / edit_file
            text = path.read_text()
            assert old in text, f"{old!r} not in {edit_file}"
            path.write_text(text.replace(old, new, 1))
        r = subprocess.run([sys.executable, HERE / "least_privilege.py", out], capture_output=True, text=True)
        return r.returncode, r.stderr


class Catches(unittest.TestCase):
    def caught(self, edit_file, old, new, expect):
        code, err = check(edit_file, old, new)
        self.assertEqual(code, 1, err)
        self.assertIn(expect, err)

    def test_the_repository_passes(self):
        self.assertEqual(check(), (0, ""))

    def test_a_call_the_policy_does_not_grant(self):
        self.caught(TF, '{ actions = ["states:StartExecution"], resources = [var.state_machine_arn] },', "",
                    "ingest: the code calls states:StartExecution (crates/aws/src/sfn.rs); its policy does not grant it")

    def test_a_grant_the_code_never_uses(self):
        self.caught(TF, '{ actions = ["eks:DescribeCluster"], resources = local.cluster_arns },\n      ]\n    }\n    health-check',
                    '{ actions = ["eks:DescribeCluster", "eks:UpdateClusterConfig"], resources = local.cluster_arns },\n      ]\n    }\n    health-check',
                    "remediate: its policy grants eks:UpdateClusterConfig, which its code never calls")

    def test_a_new_sdk_call_in_the_code(self):
        self.caught("crates/aws/src/s3.rs", ".put_object()", ".delete_object().send();\n        self.client.put_object()",
                    "audit: the code calls s3:DeleteObject")

    def test_an_unset_variable_the_code_reads(self):
        self.caught(TF, "        RECORDS_BUCKET  = var.bucket.name\n", "",
                    "audit: the code reads RECORDS_BUCKET; Terraform does not set it")

    def test_a_variable_nothing_reads(self):
        self.caught(TF, "        EKS_CLUSTERS    = local.eks_clusters\n        SELFHEAL_POLICY = var.policy_json",
                    "        EKS_CLUSTERS    = local.eks_clusters\n        DRY_RUN         = \"true\"\n        SELFHEAL_POLICY = var.policy_json",
                    "remediate: Terraform sets DRY_RUN, which the code never reads")

    def test_a_service_wide_action(self):
        self.caught(TF, '"xray:PutTraceSegments", "xray:PutTelemetryRecords"]', '"xray:*"]', "action 'xray:*'")

    def test_a_star_resource_for_a_scopable_action(self):
        self.caught(TF, '{ actions = ["states:StartExecution"], resources = [var.state_machine_arn] },',
                    '{ actions = ["states:StartExecution"], resources = ["*"] },',
                    'ingest: states:StartExecution on resource "*"')


if __name__ == "__main__":
    unittest.main()
