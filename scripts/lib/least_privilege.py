#!/usr/bin/env python3
"""Least privilege and configuration, proven from the code: for each Lambda function, the AWS API
operations its code can call and the environment variables it reads, derived from the source,
against what infra/modules/functions/main.tf grants and sets.

Operations: the function's crate and every workspace crate it links (cargo metadata, with the
features each dependency enables; modules behind a feature it does not enable are not linked),
scanned for calls of the operations of each AWS SDK crate the file imports (the SDK's own
`operation/` modules list them), plus the one signed HTTP API called without an SDK (Bedrock's
Converse, authorized as bedrock:InvokeModel). Each operation is an IAM action (DynamoDB
transactions: the action of each item kind written), plus the KMS actions the data's
encryption implies (IMPLIED). The function's policy must grant exactly these: none missing,
none extra. No action is "*" or "service:*" anywhere in infra/, and "*" resources appear only
for actions that have no resource type (NO_RESOURCE_TYPE, with the reason).

Environment: what the function's source reads (selfheal_lambda::env, std::env::var) and what the
library functions it calls read (found by name in the linked crates), minus the variables the
Lambda runtime sets itself; Terraform must set exactly these.

  least_privilege.py REPO
"""
import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(sys.argv[1])
FUNCTIONS_TF = os.path.join(REPO, "infra/modules/functions/main.tf")

# SDK crate -> IAM service prefix.
SERVICES = {"dynamodb": "dynamodb", "s3": "s3", "sfn": "states", "secretsmanager": "secretsmanager", "eks": "eks"}
# What the data's encryption adds to an operation (infra/modules/data: SSE-KMS on the bucket,
# the customer key on the secrets): the caller needs the key for it.
IMPLIED = {
    "s3:PutObject": {"kms:GenerateDataKey"},
    "s3:GetObject": {"kms:Decrypt"},
    "secretsmanager:GetSecretValue": {"kms:Decrypt"},
}
# Actions IAM cannot scope to a resource, and why.
NO_RESOURCE_TYPE = {
    "states:SendTaskSuccess": "a task token is not an ARN",
    "states:SendTaskFailure": "a task token is not an ARN",
    "xray:PutTraceSegments": "X-Ray has no resource types",
    "xray:PutTelemetryRecords": "X-Ray has no resource types",
    "ec2:CreateNetworkInterface": "bound by the ec2:Vpc condition instead",
    "ec2:DescribeNetworkInterfaces": "Describe calls have no resource-level permissions",
    "ec2:DeleteNetworkInterface": "bound by the ec2:Vpc condition instead",
    "ec2:AssignPrivateIpAddresses": "bound by the ec2:Vpc condition instead",
    "ec2:UnassignPrivateIpAddresses": "bound by the ec2:Vpc condition instead",
}
# Set by the Lambda runtime, or the AWS SDKs' own endpoint override (moto in tests, never set in
# AWS); Terraform may not set them.
RESERVED = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL"}
ENV_READ = re.compile(r'(?:env::(?:optional|required|parsed(?:::<[^>]*>)?|list)|std::env::var|\bvar)\(\s*"([A-Z][A-Z0-9_]+)"')
problems = []


def metadata():
    host = re.search(r"^host: (\S+)", subprocess.run(["rustc", "-vV"], capture_output=True, text=True,
                                                      check=True).stdout, re.M).group(1)
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--filter-platform", host,
                          "--manifest-path", os.path.join(REPO, "Cargo.toml")],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def linked(meta, name):
    """The workspace crates `name` links at run time, with the features each has: {name: features}."""
    packages = {p["name"]: p for p in meta["packages"]}
    members = {packages[n]["name"] for n in packages if packages[n]["id"] in meta["workspace_members"]}
    found = {}

    def visit(crate, features):
        pkg = packages[crate]
        enabled = set(features)
        if crate not in found:
            enabled |= set(pkg["features"].get("default", []))
        # Features that enable features.
        todo = list(enabled)
        while todo:
            for f in pkg["features"].get(todo.pop(), []):
                if not f.startswith("dep:") and "/" not in f and f not in enabled:
                    enabled.add(f)
                    todo.append(f)
        if crate in found and enabled <= found[crate]:
            return
        found[crate] = found.get(crate, set()) | enabled
        for dep in pkg["dependencies"]:
            if dep["kind"] is not None or dep["name"] not in members:
                continue
            if dep["optional"] and not any(f"dep:{dep['name']}" in pkg["features"].get(e, []) for e in found[crate]):
                continue
            visit(dep["name"], dep["features"] + (["default"] if dep["uses_default_features"] else []))

    visit(name, [])
    return {c: f for c, f in found.items()}, packages


def sources(pkg, features):
    """The source files of a crate that are compiled with `features`, test modules cut."""
    src = os.path.join(os.path.dirname(pkg["manifest_path"]), "src")
    excluded = []
    files = []
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                files.append(os.path.join(dirpath, n))
    for path in files:
        text = open(path).read()
        for m in re.finditer(r'#\[cfg\(feature = "([\w-]+)"\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);', text):
            if m.group(1) not in features:
                base = os.path.splitext(path)[0] if not path.endswith(("lib.rs", "main.rs", "mod.rs")) else os.path.dirname(path)
                excluded.append(os.path.join(base, m.group(2)))
    out = {}
    for path in files:
        if any(path == e + ".rs" or path.startswith(e + os.sep) for e in excluded):
            continue
        text = open(path).read()
        cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
        out[path] = text[: cut.start()] if cut else text
    return out


def sdk_operations(meta, crate):
    pkg = next(p for p in meta["packages"] if p["name"] == f"aws-sdk-{crate}")
    ops = os.path.join(os.path.dirname(pkg["manifest_path"]), "src", "operation")
    return {n[:-3] if n.endswith(".rs") else n for n in os.listdir(ops) if not n.startswith("_")}


def pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


def code_actions(meta, files):
    actions = {}
    for path, text in files.items():
        rel = os.path.relpath(path, REPO)
        for crate, prefix in SERVICES.items():
            if not re.search(rf"\baws_sdk_{crate}\b", text):
                continue
            for op in sdk_operations(meta, crate):
                if not re.search(rf"\.{op}\(\)", text):
                    continue
                if op == "transact_write_items":
                    kinds = {"update": "UpdateItem", "put": "PutItem", "delete": "DeleteItem", "condition_check": "ConditionCheckItem"}
                    for k, action in kinds.items():
                        if re.search(rf"TransactWriteItem::builder\(\)\s*\.{k}\(", text):
                            actions.setdefault(f"dynamodb:{action}", set()).add(rel)
                    continue
                actions.setdefault(f"{prefix}:{pascal(op)}", set()).add(rel)
        if "bedrock-runtime" in text and "/converse" in text:
            actions.setdefault("bedrock:InvokeModel", set()).add(rel)
    return actions


def block(text, start):
    """The text of the braced block that opens at or after `start`."""
    i = text.index("{", start)
    depth = 0
    for n in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[n], 0)
        if depth == 0:
            return text[i : n + 1]
    raise ValueError("unbalanced")


def terraform():
    text = open(FUNCTIONS_TF).read()
    functions = block(text, text.index("  functions = {"))
    out = {}
    for m in re.finditer(r"^    ([a-z-]+) = \{", functions, re.M):
        body = block(functions, m.start())
        env_at = body.index("environment")
        env_text = body[env_at : body.index("statements")]
        env = set(re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*=", env_text, re.M))
        for local in re.findall(r"local\.(\w+_env)", env_text):
            # Every branch of the local's value (`cond ? {...} : {...}`): up to the next local.
            start = text.index(f"  {local} =")
            end = re.compile(r"^  [a-z_]+\s+=", re.M).search(text, start + 3)
            env |= set(re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*=", text[start : end.start()], re.M))
        statements = body[body.index("statements") :]
        actions = set(re.findall(r'"([a-z0-9-]+:[A-Za-z*]+)"', statements))
        star = set()
        for s in re.finditer(r"\{ actions = \[([^\]]*)\], resources = \[\"\*\"\] \}", statements):
            star |= set(re.findall(r'"([^"]+)"', s.group(1)))
        out[m.group(1)] = {"env": env, "actions": actions, "star": star}
    return out


def env_reads(files, library_files, calls_text):
    reads = set()
    for text in files.values():
        reads |= set(ENV_READ.findall(text))
    # Library functions that read the environment, by name (Type::from_env or a free function).
    for text in library_files.values():
        for fn in re.finditer(r"pub (?:async )?fn (\w+)[^{]*\{", text):
            try:
                body = block(text, fn.end() - 1)
            except ValueError:
                continue
            found = set(ENV_READ.findall(body))
            if not found:
                continue
            owner = None
            for impl in re.finditer(r"impl(?:<[^>]*>)?\s+(\w+)\s*\{", text[: fn.start()]):
                owner = impl.group(1)
            name = fn.group(1)
            called = re.search(rf"\b{owner}::{name}\(", calls_text) if owner and name in ("new", "from_env") else re.search(rf"(?:::|\b){name}\(", calls_text)
            if called:
                reads |= found
    return reads - RESERVED


def main():
    meta = metadata()
    tf = terraform()
    for fn_dir in sorted(os.listdir(os.path.join(REPO, "functions"))):
        name = f"selfheal-{fn_dir}"
        crates, packages = linked(meta, name)
        own = sources(packages[name], crates[name])
        libs = {}
        files = dict(own)
        for crate, features in crates.items():
            if crate != name:
                s = sources(packages[crate], features)
                files.update(s)
                libs.update(s)
        derived = code_actions(meta, files)
        wanted = set(derived)
        for action in list(wanted):
            wanted |= IMPLIED.get(action, set())
        if fn_dir not in tf:
            problems.append(f"{fn_dir}: no function in {os.path.relpath(FUNCTIONS_TF, REPO)}")
            continue
        granted = tf[fn_dir]["actions"]
        for a in sorted(wanted - granted):
            where = ", ".join(sorted(derived.get(a, {"(implied)"})))
            problems.append(f"{fn_dir}: the code calls {a} ({where}); its policy does not grant it")
        for a in sorted(granted - wanted):
            problems.append(f"{fn_dir}: its policy grants {a}, which its code never calls")
        for a in sorted(tf[fn_dir]["star"] - set(NO_RESOURCE_TYPE)):
            problems.append(f"{fn_dir}: {a} on resource \"*\", but {a} can be scoped to a resource")
        calls = "\n".join(own.values())
        reads = env_reads(own, libs, calls)
        env = tf[fn_dir]["env"]
        for v in sorted(reads - env):
            problems.append(f"{fn_dir}: the code reads {v}; Terraform does not set it")
        for v in sorted(env - reads):
            problems.append(f"{fn_dir}: Terraform sets {v}, which the code never reads")
        print(f"{fn_dir:13} {len(wanted)} actions: {', '.join(sorted(wanted)) or '-'}; env: {', '.join(sorted(reads)) or '-'}")
    for dirpath, _, names in os.walk(os.path.join(REPO, "infra")):
        for n in names:
            if n.endswith(".tf"):
                text = open(os.path.join(dirpath, n)).read()
                for m in re.finditer(r"actions\s*=\s*\[([^\]]*)\]", text):
                    # A Deny may cover everything (the bucket's TLS-only statement).
                    opened = text.rfind("statement {", 0, m.start())
                    if opened >= 0 and re.search(r'effect\s*=\s*"Deny"', block(text, opened)):
                        continue
                    for bad in re.findall(r'"(\*|[a-z0-9-]+:\*)"', m.group(1)):
                        problems.append(f"{os.path.relpath(os.path.join(dirpath, n), REPO)}: action {bad!r}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


main()
