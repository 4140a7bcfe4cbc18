#!/usr/bin/env python3
"""Runs every case under crates/states/tests/conformance/ through moto's Step Functions interpreter.

Each case is one JSON file: a definition, an input, the results moto's Lambda stand-in hands out
(in order), and the expected result. crates/states runs the same cases (cargo test); this script is
the second opinion: moto interprets ASL independently of us.

  scripts/states-conformance.py            check: moto's answer must equal each case's expected
                                           result, or the moto answer recorded where moto and the
                                           AWS documentation disagree ("moto_differs")
  scripts/states-conformance.py --write    record moto's answers as the expected results (or, for
                                           "moto_differs" cases, as what moto says)
  scripts/states-conformance.py --workflow statemachines/remediation.asl.json's paths instead: the
                                           cases under crates/lab/tests/moto/ hold an input, the
                                           Lambda results in order, and the kill switch the
                                           definition reads from moto's DynamoDB ("kill_switch":
                                           true or false; absent: never set); the definition is
                                           the file itself

moto runs in-process (mock_aws), one fresh backend per case: moto 5.2's server fails to deep-copy a
state machine once an execution has run in the same backend.
"""
import io
import json
import os
import pathlib
import subprocess
import sys
import time
import zipfile

import boto3
import requests
from moto import mock_aws

CASES = pathlib.Path(__file__).resolve().parent.parent / "crates/states/tests/conformance"
CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
WORKFLOW_CASES = CASES.parent.parent.parent / "lab/tests/moto"
WORKFLOW = CASES.parent.parent.parent.parent / "statemachines/remediation.asl.json"
# The incident table the definition reads the kill switch from (crates/lab's TABLE).
TABLE = "selfheal-incidents"
FUNCTIONS = ["remediate", "health-check", "audit", "analyzer", "notify",
             "selfheal-remediate", "selfheal-health-check", "selfheal-audit", "selfheal-analyzer",
             "selfheal-approval"]


def run_case(case):
    with mock_aws(config=CONFIG):
        kw = {"region_name": "us-east-1"}
        sfn, lam, iam = (boto3.client(s, **kw) for s in ("stepfunctions", "lambda", "iam"))
        role = iam.create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        for name in FUNCTIONS:
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                Handler="index.handler", Code={"ZipFile": code.getvalue()})
        ddb = boto3.client("dynamodb", **kw)
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}])
        if "kill_switch" in case:
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": "config"}, "sk": {"S": "kill-switch"},
                                                "enabled": {"BOOL": case["kill_switch"]}})
        results = case.get("lambda_results", [])
        if results:
            requests.post("http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response",
                          json={"results": [json.dumps(r) for r in results], "region": "us-east-1"},
                          timeout=10)
        arn = sfn.create_state_machine(name="conformance", definition=json.dumps(case["definition"]),
                                       roleArn="arn:aws:iam::123456789012:role/states")["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn, name="conformance",
                                 input=json.dumps(case["input"]))["executionArn"]
        deadline = time.time() + 30
        while True:
            d = sfn.describe_execution(executionArn=ex)
            if d["status"] != "RUNNING" or time.time() > deadline:
                break
            time.sleep(0.05)
        out = {"status": d["status"]}
        if d.get("output") is not None:
            try:
                out["output"] = json.loads(d["output"])
            except ValueError:
                # moto prints some string outputs without JSON quotes; keep what it said.
                out["output_text"] = d["output"]
        if d.get("error") is not None:
            out["error"] = d["error"]
        return out


def main():
    write = "--write" in sys.argv[1:]
    workflow = "--workflow" in sys.argv[1:]
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    failures = 0
    for path in sorted((WORKFLOW_CASES if workflow else CASES).glob("*.json")):
        if only and path.stem not in only:
            continue
        case = json.loads(path.read_text())
        if workflow:
            # The template, rendered as `selfheal states render` does with the lab's names.
            text = subprocess.run([os.environ.get("SELFHEAL", "selfheal"), "states", "render", str(WORKFLOW)],
                                  capture_output=True, text=True, check=True).stdout
            case["definition"] = json.loads(text)
        got = run_case(case)
        differs = case.get("moto_differs")
        if write:
            if differs is not None:
                differs["moto"] = got
            else:
                case["expected"] = got
            case.pop("definition") if workflow else None
            path.write_text(json.dumps(case, indent=2) + "\n")
            print(f"wrote {path.name}: {got['status']}")
            continue
        want = differs["moto"] if differs is not None else case.get("expected")
        if got != want:
            failures += 1
            print(f"FAIL {path.name}\n  moto:     {json.dumps(got)}\n  recorded: {json.dumps(want)}")
        else:
            note = " (moto differs from AWS; recorded)" if differs is not None else ""
            print(f"ok   {path.name}{note}")
    if failures:
        sys.exit(f"{failures} case(s) differ from moto")


if __name__ == "__main__":
    main()
