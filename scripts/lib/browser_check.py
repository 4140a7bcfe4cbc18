#!/usr/bin/env python3
"""Every page of a report directory (`selfheal report --out DIR`) opened in a real browser,
Debian's headless Chromium: no console message or failed load, the DOM has what the page is for
(an incident report: the Gantt timeline's bars, the actions, the analysis, the Slack messages;
the index: a row and a link per incident), and a screenshot that is not blank.

  browser_check.py DIR [--keep-screenshot NAME.png:DEST]
"""
import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("dir", type=pathlib.Path)
p.add_argument("--keep-screenshot", help="copy one page's screenshot: PAGE.html:DEST.png (PAGE may be 'first-report')")
a = p.parse_args()
chromium = shutil.which("chromium") or sys.exit("chromium is not installed")
# Root in a container: Chromium's sandbox needs user namespaces it may not have.
BASE = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--enable-logging=stderr", "--v=0", "--allow-file-access-from-files"]
problems = []


def browse(url, *args):
    r = subprocess.run(BASE + list(args) + [url], capture_output=True, text=True, timeout=120)
    # Console messages and failed loads, as Chromium logs them.
    for line in r.stderr.splitlines():
        if re.search(r"CONSOLE\(|Uncaught|Failed to load resource|ERR_FILE_NOT_FOUND", line):
            problems.append(f"{url}: {line.strip()}")
    return r


def not_blank(png):
    img = Image.open(png).convert("RGB")
    raw = img.resize((160, 200)).tobytes()
    pixels = [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]
    colours = len(set(pixels))
    inked = sum(1 for px in pixels if sum(px) < 600) / len(pixels)
    return colours, inked


pages = sorted(a.dir.glob("*.html"))
if not any(p.name != "index.html" for p in pages):
    sys.exit(f"no incident report in {a.dir}")
kept = None
with tempfile.TemporaryDirectory() as tmp:
    for page in pages:
        url = page.resolve().as_uri()
        dom = browse(url, "--dump-dom").stdout
        if page.name == "index.html":
            want = {"a row per incident": "<tr><td>", "links to the reports": ".html\">inc-"}
        else:
            want = {"the timeline's bars": "<rect ", "the actions": "<h2>Actions</h2>",
                    "the analysis": "<h2>Analysis</h2>", "the Slack section": "<h2>Slack</h2>",
                    "the audit trail": "<h2>Audit trail</h2>"}
        for what, needle in want.items():
            if needle not in dom:
                problems.append(f"{page.name}: the rendered page lacks {what} ({needle!r})")
        shot = pathlib.Path(tmp) / (page.stem + ".png")
        browse(url, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars")
        if not shot.exists():
            problems.append(f"{page.name}: no screenshot")
            continue
        colours, inked = not_blank(shot)
        # An index with one row inks little of a 1280x1600 window; a blank page inks nothing.
        if colours < 8 or inked < 0.002:
            problems.append(f"{page.name}: the screenshot looks blank ({colours} colours, {inked:.1%} inked)")
        if a.keep_screenshot:
            name, dest = a.keep_screenshot.split(":", 1)
            if page.name == name or (name == "first-report" and kept is None and page.name != "index.html"):
                shutil.copy(shot, dest)
                kept = dest
if problems:
    sys.exit("\n".join(problems))
version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip()
print(f"{len(pages)} pages in {version}: rendered, no console message, not blank" + (f"; screenshot kept at {kept}" if kept else ""))
