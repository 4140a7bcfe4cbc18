#!/usr/bin/env python3
"""Renders the lab's Prometheus and Alertmanager configuration from the repository's own
observability/ files, so the lab runs exactly the rules and routes an SRE deploys. The only
lab overrides: evaluation and scrape intervals, `for` durations (divided by 30, at least 5 s),
Alertmanager's group timings, the selfheal webhook's URL and its token file. Change a rule's
expression and the lab runs the change.

  lab_observability.py OUT --sim HOST:PORT --lab HOST:PORT --alertmanager HOST:PORT --token-file F

writes OUT/prometheus.yml, OUT/rules/*.yml and OUT/alertmanager.yml.
"""
import argparse
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "observability/prometheus/rules"
ALERTMANAGER = ROOT / "observability/alertmanager/alertmanager.yml"
PODS = ROOT / "observability/prometheus/lab-pods.yml"
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration):
    """Prometheus' duration syntax (15m, 1h30m) in seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def lab_for(duration):
    """A `for` duration for the lab: 30 times shorter, at least 5 s."""
    return f"{max(5, round(seconds(duration) / 30))}s"


def rules(out):
    (out / "rules").mkdir(parents=True, exist_ok=True)
    for path in sorted(RULES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = lab_for(rule["for"])
        (out / "rules" / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))


def prometheus(out, sim, lab, alertmanager):
    config = {
        "global": {
            "scrape_interval": "5s",
            "evaluation_interval": "5s",
            # What the EKS deployment's Prometheus adds to every series.
            "external_labels": {"cluster": "selfheal-dev"},
        },
        "rule_files": [str(out / "rules" / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            # kube-sim serves kube-state-metrics' series; the rules select them by this job.
            {"job_name": "kube-state-metrics", "static_configs": [{"targets": [sim]}]},
            {"job_name": "selfheal", "static_configs": [{"targets": [lab]}]},
            pods(sim),
        ],
    }
    (out / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def pods(sim):
    """The sample app's pods, discovered from kube-sim (none unless they run as processes)."""
    job = yaml.safe_load(PODS.read_text())
    job["http_sd_configs"][0]["url"] = f"http://{sim}/sim/sd/pods"
    return job


def alertmanager(out, lab, token_file):
    config = yaml.safe_load(ALERTMANAGER.read_text())

    def fast(route):
        route.update({"group_wait": "1s", "group_interval": "5s"})
        for child in route.get("routes", []):
            fast(child)

    fast(config["route"])
    hooks = 0
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"http://{lab}/alerts"
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
            hooks += 1
    if hooks != 1:
        raise SystemExit(f"expected the one selfheal webhook in {ALERTMANAGER}, found {hooks}")
    (out / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=pathlib.Path)
    p.add_argument("--sim", required=True)
    p.add_argument("--lab", required=True)
    p.add_argument("--alertmanager", required=True)
    p.add_argument("--token-file", required=True, type=pathlib.Path)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rules(a.out)
    prometheus(a.out, a.sim, a.lab, a.alertmanager)
    alertmanager(a.out, a.lab, a.token_file)


if __name__ == "__main__":
    main()
