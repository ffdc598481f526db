"""RFC-0017 against real processes: the official client's trigger methods, and schedules,
events and webhooks fired by a real Celery worker and beat (not eager mode)."""

from __future__ import annotations

import json
import signal
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from openintent import OpenIntentClient

from openintent_project.testing import ROOT, LiveServer
from triggers.kinds.webhook import signature_for

pytestmark = pytest.mark.live
KEY = {"X-API-Key": "dev-user-key"}


def wait_for(check, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    return check()


# --- the official client (shared live server) -------------------------------------------

def test_the_official_client_trigger_methods(live_server_url):
    client = OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="agent-x")
    created = client.create_trigger(
        "nightly-report", "schedule", condition={"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
        intent_template={"type": "report", "title": "Report #{{ trigger.fire_count }}", "context": {"k": 1}},
        deduplication="allow", namespace="ops",
    )
    assert created.type.value == "schedule" and created.version == 1 and created.condition.cron == "0 2 * * *"
    assert created.intent_template.title.startswith("Report")
    got = client.get_trigger(created.trigger_id)
    assert got.name == "nightly-report" and got.namespace == "ops"
    assert created.trigger_id in [t.trigger_id for t in client.list_triggers(namespace="ops", trigger_type="schedule")]

    updated = client.update_trigger(created.trigger_id, version=1, cron="30 3 * * *")
    assert updated.version == 2 and updated.condition.cron == "30 3 * * *"
    assert updated.condition.timezone == "Europe/Berlin"

    fired = client.fire_trigger(created.trigger_id)
    assert fired["status"] == "fired" and fired["fire_count"] == 1
    intent = client.get_intent(fired["intent_id"])
    assert intent.title == "Report #1" and intent.state.get("k") == 1
    assert intent.state.get("_trigger")["trigger_id"] == created.trigger_id

    # Shorthands the SDK passes as keyword arguments; the secret never comes back.
    hook = client.create_trigger("hook", "webhook", path="/sdk/hook", webhook_secret="s", dedup="skip")
    assert hook.condition.path == "/sdk/hook" and hook.condition.secret is None
    assert hook.deduplication.value == "skip"
    once = client.create_trigger("once", "schedule", at="2999-01-01T00:00:00Z")
    assert once.condition.at == datetime(2999, 1, 1)

    client.delete_trigger(created.trigger_id)
    assert created.trigger_id not in [t.trigger_id for t in client.list_triggers()]
    history = requests.get(f"{live_server_url}/api/v1/triggers/{created.trigger_id}/history", headers=KEY).json()
    assert [h["outcome"] for h in history] == ["fired"]


def test_the_official_client_sees_a_disabled_trigger_refuse_to_fire(live_server_url):
    from openintent.exceptions import OpenIntentError

    client = OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="agent-x")
    trigger = client.create_trigger("off", "event", event_type="x-nothing")
    client.update_trigger(trigger.trigger_id, version=1, enabled=False)
    with pytest.raises(OpenIntentError):
        client.fire_trigger(trigger.trigger_id)


# --- real worker and beat ------------------------------------------------------------------

@pytest.fixture(scope="module")
def beat_server():
    """Beat ticks every second; seconds-level cron allowed; plus a second worker process, so
    ticks are consumed by several workers at once."""
    env = {"TRIGGERS_TICK_SECONDS": "1", "TRIGGERS_ALLOW_SECONDS_CRON": "true"}
    with LiveServer(web_processes=1, worker=True, beat=True, env=env) as server:
        extra = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openintent_project", "worker", "--loglevel", "WARNING",
             "--concurrency", "1", "--without-gossip", "--without-mingle", "-n", "second@%h"],
            cwd=ROOT, env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            yield server
        finally:
            os.killpg(extra.pid, signal.SIGTERM)
            try:
                extra.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(extra.pid, signal.SIGKILL)


def api(server, method, path, **kwargs):
    return requests.request(method, f"{server.url}{path}", headers={**KEY, **kwargs.pop("headers", {})}, timeout=10, **kwargs)


def triggered_intents(server, trigger_id):
    intents = api(server, "GET", "/api/v1/intents?limit=1000").json()["intents"]
    return [i for i in intents if (i["state"].get("_trigger") or {}).get("trigger_id") == trigger_id]


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts).replace(tzinfo=timezone.utc)


def test_a_one_shot_fires_on_time_once(beat_server):
    at = datetime.now(timezone.utc) + timedelta(seconds=4)
    trigger = api(beat_server, "POST", "/api/v1/triggers", json={
        "name": "once", "type": "schedule", "condition": {"at": at.isoformat()}, "intent_template": {"title": "one-shot"},
    }).json()
    made = wait_for(lambda: triggered_intents(beat_server, trigger["trigger_id"]), timeout=30)
    assert len(made) == 1, beat_server.log()
    lateness = (parse(made[0]["created_at"]) - at).total_seconds()
    assert 0 <= lateness < 5, lateness
    time.sleep(3)
    assert len(triggered_intents(beat_server, trigger["trigger_id"])) == 1
    after = api(beat_server, "GET", f"/api/v1/triggers/{trigger['trigger_id']}").json()
    assert after["enabled"] is False and after["fire_count"] == 1 and after["next_fire_at"] is None


def test_a_cron_schedule_fires_each_tick_once_with_several_workers(beat_server):
    trigger = api(beat_server, "POST", "/api/v1/triggers", json={
        "name": "every-3s", "type": "schedule", "condition": {"cron": "*/3 * * * * *"},
        "intent_template": {"title": "tick {{ trigger.fire_count }}"},
    }).json()
    trigger_id = trigger["trigger_id"]
    wait_for(lambda: len(triggered_intents(beat_server, trigger_id)) >= 3, timeout=40)
    api(beat_server, "PATCH", f"/api/v1/triggers/{trigger_id}", json={"enabled": False}, headers={"If-Match": "1"})
    time.sleep(2)
    made = triggered_intents(beat_server, trigger_id)
    history = api(beat_server, "GET", f"/api/v1/triggers/{trigger_id}/history").json()
    assert len(made) >= 3, beat_server.log()
    fired = [h for h in history if h["outcome"] == "fired"]
    assert len(fired) == len(made) == api(beat_server, "GET", f"/api/v1/triggers/{trigger_id}").json()["fire_count"]
    # Exactly once per tick: never more intents than 3-second slots between creation and the
    # disable, and no two intents in one slot.
    disabled_at = parse(api(beat_server, "GET", f"/api/v1/triggers/{trigger_id}").json()["updated_at"])
    slots_elapsed = int((disabled_at - parse(trigger["created_at"])).total_seconds() // 3) + 1
    assert len(made) <= slots_elapsed, (len(made), slots_elapsed)
    buckets = [int(parse(i["state"]["_trigger"]["fired_at"]).timestamp()) // 3 for i in made]
    assert len(set(buckets)) == len(buckets), buckets
    assert sorted(i["title"] for i in made) == sorted(f"tick {n}" for n in range(1, len(made) + 1))


def test_an_event_trigger_fires_when_a_matching_event_is_logged(beat_server):
    trigger = api(beat_server, "POST", "/api/v1/triggers", json={
        "name": "on-done", "type": "event", "condition": {"event": "intent.resolved"},
        "intent_template": {"title": "after {{ event.intent_id }}"},
    }).json()
    source = api(beat_server, "POST", "/api/v1/intents", json={"title": "work"}).json()
    response = api(beat_server, "POST", f"/api/v1/intents/{source['id']}/status", json={"status": "completed"},
                   headers={"If-Match": str(source["version"])})
    assert response.status_code == 200
    made = wait_for(lambda: triggered_intents(beat_server, trigger["trigger_id"]), timeout=20)
    assert [i["title"] for i in made] == [f"after {source['id']}"], beat_server.log()


def test_a_webhook_fires_on_a_signed_post_and_refuses_bad_ones(beat_server):
    trigger = api(beat_server, "POST", "/api/v1/triggers", json={
        "name": "stripe", "type": "webhook", "condition": {"path": "/hooks/stripe-payment", "secret": "whsec"},
        "intent_template": {"title": "payment {{ body.id }}"},
    }).json()
    url = f"{beat_server.url}/webhooks/hooks/stripe-payment"
    raw = json.dumps({"id": "evt_9"}).encode()
    now = str(int(time.time()))
    good = requests.post(url, data=raw, headers={"Content-Type": "application/json", "X-OpenIntent-Timestamp": now,
                                                 "X-OpenIntent-Signature": signature_for("whsec", raw, now)})
    assert good.status_code == 202, good.text
    assert good.json()["trigger_id"] == trigger["trigger_id"]
    assert api(beat_server, "GET", f"/api/v1/intents/{good.json()['intent_id']}").json()["title"] == "payment evt_9"
    bad = requests.post(url, data=raw, headers={"X-OpenIntent-Timestamp": now, "X-OpenIntent-Signature": signature_for("nope", raw, now)})
    assert bad.status_code == 401 and bad.json()["detail"] == "Invalid webhook signature"
    old = str(int(time.time()) - 3600)
    stale = requests.post(url, data=raw, headers={"X-OpenIntent-Timestamp": old, "X-OpenIntent-Signature": signature_for("whsec", raw, old)})
    assert stale.status_code == 401
    assert len(triggered_intents(beat_server, trigger["trigger_id"])) == 1
