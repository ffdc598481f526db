"""Browser tests of the arbitrators' review screens: Playwright driving Debian's chromium
(`make browser`) against a live server (daphne), signed in with Django auth."""

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
import requests

from openintent_project.testing import ROOT, LiveServer

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"),
                       reason="Debian's chromium is missing: run `make browser`"),
]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "browser-agent"}


@pytest.fixture(scope="module")
def server():
    with LiveServer(web_processes=1, worker=False, beat=False) as live:
        for args in (["arb", "--password", "arb-pass"], ["nobody", "--password", "nobody-pass", "--no-arbitrator"]):
            subprocess.run([sys.executable, "manage.py", "create_arbitrator", *args], cwd=ROOT, env=live.env,
                           check=True, capture_output=True)
        yield live


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def api(server, method, path, **kwargs):
    resp = requests.request(method, f"{server.url}/api/v1{path}", headers=HEADERS, timeout=10, **kwargs)
    assert resp.status_code in (200, 204), resp.text
    return resp.json() if resp.content else None


def sign_in(page, server, username, password):
    page.goto(f"{server.url}/review/")
    assert "/review/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_arbitrator_resolves_an_escalation_raised_over_the_api(page, server):
    sign_in(page, server, "arb", "arb-pass")
    assert page.get_by_role("heading", name="Waiting on a human").is_visible()
    intent = api(server, "post", "/intents", json={"title": "Browser launch"})
    esc = api(server, "post", f"/intents/{intent['id']}/escalations",
              json={"reason": "Budget exceeded for browser launch", "priority": "high"})
    # the queue polls: the new escalation appears without a reload
    link = page.get_by_role("link", name="Budget exceeded for browser launch")
    link.wait_for(timeout=15000)
    link.click()
    page.wait_for_load_state()
    assert page.locator("#intent-title").inner_text() == "Browser launch"
    assert "escalation_initiated" in page.locator("#timeline").inner_text()
    page.get_by_label("Outcome").fill("Raise the budget")
    page.get_by_label("Rationale").fill("Worth it for the launch")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_load_state()
    assert "Escalation resolved." in page.content()
    [resolved] = api(server, "get", f"/escalations?intent_id={intent['id']}")["escalations"]
    assert resolved["id"] == esc["id"] and resolved["status"] == "resolved"
    assert resolved["resolved_by"] == "user:arb" and resolved["resolution"] == "Raise the budget"
    assert resolved["resolution_notes"] == "Worth it for the launch"
    events = api(server, "get", f"/intents/{intent['id']}/events")
    resolved_events = [e for e in events if e["event_type"] == "escalation_resolved"]
    assert resolved_events and resolved_events[0]["actor"] == "user:arb"


def test_denied_approval_reaches_the_waiting_agent(page, server):
    from openintent import OpenIntentClient

    agent = OpenIntentClient(server.url, api_key="dev-user-key", agent_id="waiting-agent")
    intent = agent.create_intent("Needs a human yes")
    approval = agent.request_approval(intent.id, action="deploy-to-prod", reason="release 1.2")
    seen: dict = {}

    def wait_for_decision():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = agent.get_approval_status(intent.id, approval.id)
            status = getattr(current.status, "value", current.status)
            if status != "pending":
                seen["status"], seen["decided_by"] = status, current.decided_by
                return
            time.sleep(0.5)

    waiter = threading.Thread(target=wait_for_decision)
    waiter.start()
    sign_in(page, server, "arb", "arb-pass")
    page.get_by_role("link", name="deploy-to-prod: release 1.2").click()
    page.wait_for_load_state()
    page.get_by_label("Deny").check()
    page.get_by_label("Rationale").fill("Not during the freeze")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_load_state()
    waiter.join(timeout=70)
    assert seen == {"status": "denied", "decided_by": "user:arb"}
    stored = api(server, "get", f"/intents/{intent.id}/approvals/{approval.id}")
    assert stored["decision_notes"] == "Not during the freeze"


def test_user_without_the_permission_is_refused(page, server):
    sign_in(page, server, "nobody", "nobody-pass")
    response = page.goto(f"{server.url}/review/")
    assert response.status == 403
    assert page.request.get(f"{server.url}/review/queue.json").status == 403
