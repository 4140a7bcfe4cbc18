#!/usr/bin/env python3
"""infra_check.py must refuse what `terraform validate` would: each case breaks one thing in a
copy of infra/ (and k8s/ for the groups) and expects the checker to name it.

  test_infra_check.py CDKTF_LIB_DIR   (run with the interpreter that has python-hcl2)
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIB = sys.argv.pop(1)


def check(edit_file, old, new):
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d)
        for part in ("infra", "k8s"):
            shutil.copytree(ROOT / part, out / part)
        if edit_file:
            path = out / edit_file
            text = path.read_text()
            assert old in text, f"{old!r} not in {edit_file}"
            path.write_text(text.replace(old, new, 1))
        r = subprocess.run([sys.executable, HERE / "infra_check.py", out / "infra", LIB],
                           capture_output=True, text=True)
        return r.returncode, r.stderr


class Refuses(unittest.TestCase):
    def refused(self, edit_file, old, new, expect):
        code, err = check(edit_file, old, new)
        self.assertEqual(code, 1, err)
        self.assertIn(expect, err)

    def test_the_repository_passes(self):
        self.assertEqual(check(None, None, None), (0, ""))

    def test_a_resource_type_the_provider_lacks(self):
        self.refused("infra/modules/data/main.tf", 'resource "aws_kms_alias"', 'resource "aws_kms_aliases"',
                     "aws_kms_aliases.this: no such resource type")

    def test_an_unknown_argument(self):
        self.refused("infra/modules/data/main.tf", "  deletion_protection_enabled = true",
                     "  deletion_protection_enabled = true\n  encrypted                   = true",
                     "'encrypted' is not an argument or block")

    def test_an_unknown_argument_in_a_nested_block(self):
        self.refused("infra/modules/data/main.tf", "  point_in_time_recovery {\n    enabled = true",
                     "  point_in_time_recovery {\n    enabled  = true\n    duration = 35",
                     "point_in_time_recovery: 'duration'")

    def test_an_unknown_argument_in_a_dynamic_block(self):
        self.refused("infra/modules/functions/main.tf", "      actions   = statement.value.actions\n",
                     "      actions   = statement.value.actions\n      effects   = \"Allow\"\n",
                     "statement: 'effects'")

    def test_an_unknown_data_source(self):
        self.refused("infra/modules/data/main.tf", 'data "aws_caller_identity"', 'data "aws_caller_identities"',
                     "no such data type")

    def test_unformatted_files(self):
        self.refused("infra/modules/data/main.tf", "  billing_mode = \"PAY_PER_REQUEST\"",
                     "  billing_mode =    \"PAY_PER_REQUEST\"", "terraform fmt would change")

    def test_groups_that_k8s_does_not_bind(self):
        self.refused("k8s/overlays/dev/settings.yaml", "remediatorGroup: selfheal-dev-remediators",
                     "remediatorGroup: selfheal-dev-fixers", "k8s/overlays/dev binds selfheal-dev-fixers")

    def test_a_value_for_a_variable_the_platform_lacks(self):
        self.refused("infra/envs/prod/terraform.tfvars", "nat_gateways          = 3",
                     "nat_gateway           = 3", "nat_gateway is not a variable of infra/platform")

    def test_an_environment_writing_another_ones_state(self):
        self.refused("infra/envs/prod/backend.hcl", "selfheal/prod/", "selfheal/dev/",
                     "envs/prod/backend.hcl: the state key 'selfheal/dev/terraform.tfstate' is not prod's")


if __name__ == "__main__":
    unittest.main()
