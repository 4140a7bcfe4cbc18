#!/usr/bin/env python3
"""telemetry_check.py must refuse what Loki, Tempo and the collector would refuse: each case
breaks one thing in a copy of observability/'s values and expects the checker to name it."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def check(edit_file, old, new):
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d)
        for part in ("otel-collector", "loki", "tempo"):
            shutil.copytree(ROOT / "observability" / part, out / part)
        path = out / edit_file
        text = path.read_text()
        assert old in text, f"{old!r} not in {edit_file}"
        path.write_text(text.replace(old, new, 1))
        r = subprocess.run([sys.executable, HERE / "telemetry_check.py", out],
                           capture_output=True, text=True)
        return r.returncode, r.stderr


class Refuses(unittest.TestCase):
    def refused(self, edit_file, old, new, expect):
        code, err = check(edit_file, old, new)
        self.assertEqual(code, 1, err)
        self.assertIn(expect, err)

    def test_the_repository_values_pass(self):
        self.assertEqual(check("loki/values.yaml", "auth_enabled", "auth_enabled")[0], 0)

    def test_retention_without_a_delete_request_store(self):
        self.refused("loki/values.yaml", "    delete_request_store: s3\n", "", "delete_request_store")

    def test_an_undefined_exporter(self):
        self.refused("otel-collector/values.yaml", "exporters: [otlp/tempo]", "exporters: [otlp/jaeger]",
                     "'otlp/jaeger', which is not defined")

    def test_batch_before_the_memory_limiter(self):
        self.refused("otel-collector/values.yaml",
                     "processors: [memory_limiter, k8sattributes, resource, batch]\n        exporters: [otlp/tempo]",
                     "processors: [batch, k8sattributes, resource, memory_limiter]\n        exporters: [otlp/tempo]",
                     "memory_limiter must run first")

    def test_logs_sent_where_loki_does_not_listen(self):
        self.refused("otel-collector/values.yaml", "loki.monitoring.svc.cluster.local:3100/otlp",
                     "loki.monitoring.svc.cluster.local:3100/loki/api/v1/push", "ingests OTLP at '/otlp'")

    def test_a_renamed_tempo_service(self):
        self.refused("tempo/values.yaml", "fullnameOverride: tempo", "fullnameOverride: traces",
                     "not the traces Service")

    def test_a_duplicate_key(self):
        self.refused("loki/values.yaml", "  auth_enabled: false\n", "  auth_enabled: false\n  auth_enabled: true\n",
                     "duplicate key")

    def test_an_old_schema(self):
        self.refused("loki/values.yaml", "schema: v13", "schema: v11", "Loki 3 wants v13")


if __name__ == "__main__":
    unittest.main()
