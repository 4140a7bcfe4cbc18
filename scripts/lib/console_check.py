#!/usr/bin/env python3
"""The lab's console in a real browser: Playwright (pip) driving Debian's headless Chromium, as a
person would. From the execution list it opens the execution waiting for approval, checks that
its graph (every state of the definition, coloured) and its event history render, clicks
Approve, and waits for the execution page to show the approval in the audit trail. No console
error or failed request along the way.

  console_check.py LAB_URL INCIDENT_ID SCREENSHOT.png
"""
import shutil
import sys
import time

from playwright.sync_api import sync_playwright

lab, incident, shot = sys.argv[1:4]
chromium = shutil.which("chromium") or sys.exit("chromium is not installed")
problems = []
with sync_playwright() as p:
    # Root in a container: Chromium's sandbox needs user namespaces it may not have.
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(lab + "/")
    page.click(f"a[href='/executions/{incident}']")
    page.wait_for_url(f"**/executions/{incident}")
    states = page.locator("g.state").count()
    entered = page.locator("g.state rect:not([fill='#aab7b8'])").count()
    history = page.locator("table.history tr").count() - 1
    if states < 20 or entered < 3 or history < 5:
        problems.append(f"graph {states} states ({entered} entered), history {history} events")
    if not page.locator("text=waiting for approval").count():
        problems.append("the execution does not say it waits for approval")
    page.screenshot(path=shot, full_page=True)
    page.click("button.approve")
    page.wait_for_url(f"**/executions/{incident}")
    deadline = time.time() + 30
    while "approved by console" not in page.content() and time.time() < deadline:
        time.sleep(0.5)
        page.reload()
    if "approved by console" not in page.content():
        problems.append("after Approve, the audit trail has no approval by console")
    browser.close()
if problems:
    sys.exit("\n".join(problems))
print(f"console: {states} states drawn ({entered} entered), {history} history events, Approve completed the waiting task")
