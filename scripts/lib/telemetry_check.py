#!/usr/bin/env python3
"""Checks observability/'s Helm values for the OpenTelemetry Collector, Loki and Tempo as far as
anything can without their binaries (none installs here: Debian's `loki` is a genetics program,
and otelcol, Loki and Tempo come from GitHub releases or container images only). What each of
them would refuse at start-up, from their documentation and release notes, is checked here:

- YAML: parses, no duplicate keys (a later key silently wins in Helm).
- Collector: every component a pipeline names is defined and spelled `type[/name]`, every defined
  component is used, memory_limiter runs first and batch last in every pipeline (the collector's
  own guidance), the extensions the service enables exist, and storage a component names is a
  defined extension.
- Loki 3: schema v13 on tsdb from a date, object store matching storage.type, structured metadata
  on (OTLP ingestion needs it), retention enabled in the compactor when a retention period is set,
  and then delete_request_store set (Loki 3 refuses to start without it).
- Tempo: an OTLP gRPC receiver and an object-store backend with a bucket.
- Together: the collector's exporters reach the Services the Loki and Tempo charts create
  (fullnameOverride, namespace monitoring) on the ports their receivers listen on.

  telemetry_check.py [OBSERVABILITY_DIR]   (exit 1 with every problem listed)
"""
import pathlib
import re
import sys
from urllib.parse import urlparse

import yaml

PIPELINE_KINDS = ("receivers", "processors", "exporters", "connectors")
COMPONENT = re.compile(r"^[a-z][a-z0-9_]*(/[A-Za-z0-9_.\-]+)?$")


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path, problems):
    try:
        return yaml.load(path.read_text(), Loader=StrictLoader) or {}
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{path}: {e}")
        return {}


def collector(values, problems):
    where = "otel-collector"
    config = values.get("config") or {}
    service = config.get("service") or {}
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append(f"{where}: no pipelines")
    used = {kind: set() for kind in PIPELINE_KINDS}
    for name, p in pipelines.items():
        if not re.match(r"^(traces|metrics|logs)(/[A-Za-z0-9_.\-]+)?$", name):
            problems.append(f"{where}: pipeline {name!r} is not traces, metrics or logs[/name]")
        for kind in ("receivers", "processors", "exporters"):
            for c in p.get(kind) or []:
                used[kind].add(c)
                if c not in (config.get(kind) or {}) and c not in (config.get("connectors") or {}):
                    problems.append(f"{where}: pipeline {name} names {kind[:-1]} {c!r}, which is not defined")
        if not p.get("receivers") or not p.get("exporters"):
            problems.append(f"{where}: pipeline {name} needs receivers and exporters")
        procs = p.get("processors") or []
        if procs and procs[0] != "memory_limiter":
            problems.append(f"{where}: pipeline {name}: memory_limiter must run first, not {procs[0]!r}")
        if procs and procs[-1] != "batch":
            problems.append(f"{where}: pipeline {name}: batch must run last, not {procs[-1]!r}")
    for kind in ("receivers", "processors", "exporters"):
        for c in config.get(kind) or {}:
            if not COMPONENT.match(c):
                problems.append(f"{where}: {kind[:-1]} {c!r} is not type[/name]")
            if c not in used[kind]:
                problems.append(f"{where}: {kind[:-1]} {c!r} is defined but no pipeline uses it")
    extensions = config.get("extensions") or {}
    for e in service.get("extensions") or []:
        if e not in extensions:
            problems.append(f"{where}: the service enables extension {e!r}, which is not defined")
    for e in extensions:
        if e not in (service.get("extensions") or []):
            problems.append(f"{where}: extension {e!r} is defined but not enabled")

    def storages(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "storage" and isinstance(v, str) and v not in extensions:
                    problems.append(f"{where}: {path}.storage names {v!r}, not a defined extension")
                storages(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                storages(v, f"{path}[{i}]")

    for kind in PIPELINE_KINDS:
        storages(config.get(kind) or {}, kind)
    return config.get("exporters") or {}


def loki(values, problems):
    where = "loki"
    l = values.get("loki") or {}
    configs = (l.get("schemaConfig") or {}).get("configs") or []
    if not configs:
        problems.append(f"{where}: no schemaConfig")
    store_type = (l.get("storage") or {}).get("type")
    for c in configs:
        if c.get("schema") != "v13" or c.get("store") != "tsdb":
            problems.append(f"{where}: schema {c.get('schema')} on {c.get('store')}: Loki 3 wants v13 on tsdb")
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", str(c.get("from", ""))):
            problems.append(f"{where}: schema 'from' must be a YYYY-MM-DD date string")
        if c.get("object_store") != store_type:
            problems.append(f"{where}: schema object_store {c.get('object_store')} is not storage.type {store_type}")
    if store_type == "s3":
        buckets = (l.get("storage") or {}).get("bucketNames") or {}
        for b in ("chunks", "ruler", "admin"):
            if not buckets.get(b):
                problems.append(f"{where}: storage.bucketNames.{b} is missing")
    limits = l.get("limits_config") or {}
    if limits.get("allow_structured_metadata") is not True:
        problems.append(f"{where}: OTLP ingestion needs limits_config.allow_structured_metadata: true")
    compactor = l.get("compactor") or {}
    if limits.get("retention_period") and compactor.get("retention_enabled") is not True:
        problems.append(f"{where}: retention_period is set but the compactor does not enforce it (retention_enabled)")
    if compactor.get("retention_enabled") and not compactor.get("delete_request_store"):
        problems.append(f"{where}: Loki 3 refuses retention_enabled without compactor.delete_request_store")
    mode = values.get("deploymentMode")
    if mode not in ("SingleBinary", "SimpleScalable", "Distributed"):
        problems.append(f"{where}: deploymentMode {mode!r}")
    replicas = (values.get("singleBinary") or {}).get("replicas", 0)
    if mode == "SingleBinary" and replicas > 1 and store_type == "filesystem":
        problems.append(f"{where}: several single-binary replicas need object storage")
    rf = (l.get("commonConfig") or {}).get("replication_factor", 3)
    if mode == "SingleBinary" and rf > replicas:
        problems.append(f"{where}: replication_factor {rf} exceeds the {replicas} replicas")
    return values.get("fullnameOverride"), 3100


def tempo(values, problems):
    where = "tempo"
    t = values.get("tempo") or {}
    grpc = (((t.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("grpc")
    if not grpc:
        problems.append(f"{where}: no OTLP gRPC receiver")
    trace = (t.get("storage") or {}).get("trace") or {}
    backend = trace.get("backend")
    if backend not in ("s3", "gcs", "azure"):
        problems.append(f"{where}: trace backend {backend!r} is not an object store")
    elif not (trace.get(backend) or {}).get("bucket"):
        problems.append(f"{where}: no {backend} bucket")
    port = int(str((grpc or {}).get("endpoint", ":4317")).rsplit(":", 1)[-1])
    return values.get("fullnameOverride"), port


def reaches(exporters, name, service, port, scheme_path, problems):
    """An exporter whose name starts with `name` must target SERVICE.monitoring on PORT."""
    matching = {k: v for k, v in exporters.items() if k.split("/")[-1] == name}
    if not matching:
        problems.append(f"otel-collector: no exporter for {name}")
    for k, v in matching.items():
        endpoint = str(v.get("endpoint", ""))
        parsed = urlparse(endpoint if "://" in endpoint else f"//{endpoint}")
        host = parsed.hostname or ""
        if host.split(".")[0] != service or ".monitoring." not in f"{host}.":
            problems.append(f"otel-collector: {k} goes to {host!r}, not the {service} Service in monitoring")
        if parsed.port != port:
            problems.append(f"otel-collector: {k} uses port {parsed.port}, {service} listens on {port}")
        if scheme_path is not None and parsed.path != scheme_path:
            problems.append(f"otel-collector: {k} path {parsed.path!r}, {service} ingests OTLP at {scheme_path!r}")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "observability")
    problems = []
    exporters = collector(load(root / "otel-collector/values.yaml", problems), problems)
    loki_service, loki_port = loki(load(root / "loki/values.yaml", problems), problems)
    tempo_service, tempo_port = tempo(load(root / "tempo/values.yaml", problems), problems)
    reaches(exporters, "loki", loki_service, loki_port, "/otlp", problems)
    reaches(exporters, "tempo", tempo_service, tempo_port, None, problems)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("otel-collector, loki and tempo values: consistent")


if __name__ == "__main__":
    main()
