#!/usr/bin/env python3
"""scripts/lab as a person uses it: started in its own session on free ports, it must print its
URLs, answer on each, and on Ctrl-C (SIGINT to the script) stop every process it started. With
--live, also the shop: its frontend answers through the three tiers, and the sample-app
processes kube-sim runs for it are stopped with the lab.

  lab_check.py LAB_PORT SIM_PORT PROMETHEUS_PORT ALERTMANAGER_PORT [--live]
"""
import json
import re
import os
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
lab, sim, prom, am = sys.argv[1:5]
live = sys.argv[5:] == ["--live"]
env = dict(os.environ, LAB_PORT=lab, SIM_PORT=sim, PROMETHEUS_PORT=prom, ALERTMANAGER_PORT=am)
script = subprocess.Popen(["bash", os.path.join(ROOT, "scripts/lab")] + sys.argv[5:], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True)


def children(parent=None):
    """Every process whose parent is `parent` (the script)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent or script.pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def name(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""


def fail(message):
    os.killpg(script.pid, signal.SIGKILL)
    sys.exit(f"scripts/lab: {message}")


printed = []
deadline = time.time() + 300
for line in script.stdout:
    printed.append(line)
    if "Ctrl-C stops the lab" in line:
        break
    if time.time() > deadline:
        fail("no URLs within 5 minutes:\n" + "".join(printed))
else:
    fail("ended before printing its URLs:\n" + "".join(printed))
text = "".join(printed)
for port, path in ((lab, "/metrics"), (sim, "/readyz"), (prom, "/-/ready"), (am, "/-/ready")):
    if f"127.0.0.1:{port}" not in text:
        fail(f"does not print 127.0.0.1:{port}:\n{text}")
    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
started = children()
if len(started) < 4:
    fail(f"expected the lab, Prometheus, Alertmanager and the Slack viewer, found {started}")
apps = []
if live:
    shop = re.search(r"the shop +(http://\S+)", text)
    if not shop:
        fail(f"--live prints no shop URL:\n{text}")
    page = json.load(urllib.request.urlopen(shop.group(1) + "/", timeout=5))
    if not page["backend"]["db"]["rows"]:
        fail(f"the shop answered without rows: {page}")
    apps = [c for p in started for c in children(p) if name(c) == "sample-app"]
    if len(apps) != 8:
        fail(f"expected 8 sample-app processes under the lab, found {apps}")
    started += apps
script.send_signal(signal.SIGINT)
try:
    script.wait(timeout=30)
except subprocess.TimeoutExpired:
    fail("still running 30 s after Ctrl-C")
time.sleep(0.5)
alive = [p for p in started if os.path.exists(f"/proc/{p}") and
         open(f"/proc/{p}/stat").read().split()[2] != "Z"]
if alive:
    fail(f"left running after Ctrl-C: {alive}")
shop = f", the shop through three tiers ({len(apps)} sample-app processes)" if live else ""
print(f"scripts/lab{' --live' if live else ''}: 4 URLs answered{shop}, {len(started)} processes stopped on Ctrl-C")
