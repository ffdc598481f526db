"""Fault injection: a Celery worker is SIGKILLed in the middle of its work (issue 9).

* During a webhook delivery: the receiver holds the first POST open, the worker is killed
  while it waits for the answer; a new worker must deliver the event again (late
  acknowledgement: the unacknowledged task comes back after the broker's visibility
  timeout, or the delivery outbox sweep re-sends it).
* During a trigger fire: the test holds a PostgreSQL lock on the intents table so the fire
  blocks inside its transaction, then kills the worker; the fire's transaction dies with the
  connection. When a new worker runs, the tick creates its intent — exactly one.

The web processes and beat run in the live server; the worker is the test's own process group
(``CeleryWorker``) so that killing it does not stop the server. Each part skips while its
feature's route is absent."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
import requests

from openintent_project.testing import LiveServer

from .faults import FAST_BACKGROUND_ENV, CeleryWorker, HookReceiver, PrivateRedis, has_route, pg_connect, wait_for
from .figures import add, record

pytestmark = [pytest.mark.production, pytest.mark.live]

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-worker-fault"}
VISIBILITY_TIMEOUT = "5"
REDO_SECONDS = float(os.environ.get("OPENINTENT_FAULT_REDO_SECONDS", "90"))


def live_server(database_url: str, redis_url: str) -> LiveServer:
    return LiveServer(web_processes=1, worker=False, beat=True, database_url=database_url, redis_url=redis_url,
                      env={**FAST_BACKGROUND_ENV, "CELERY_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT})


def test_worker_killed_during_a_webhook_delivery_delivers_again(production_database):
    if not has_route("/api/v1/subscriptions", "post"):
        pytest.skip("webhook subscriptions (POST /api/v1/subscriptions, RFC-0006) are not merged yet")
    receiver = HookReceiver(hold_first=True)
    worker = replacement = None
    with PrivateRedis() as redis, live_server(production_database.url, redis.url) as server:
        try:
            worker = CeleryWorker(server.env, server.data_dir / "worker-1.log").start()
            api = requests.Session()
            api.headers.update(HEADERS)
            intent = api.post(f"{server.url}/api/v1/intents", json={"title": "worker fault"}, timeout=30).json()
            response = api.post(f"{server.url}/api/v1/subscriptions",
                                json={"intent_id": intent["id"], "webhook_url": receiver.url,
                                      "event_types": ["note"]}, timeout=30)
            assert response.status_code == 200, response.text
            event = api.post(f"{server.url}/api/v1/intents/{intent['id']}/events",
                             json={"event_type": "note", "actor": "agent-worker-fault", "payload": {}}, timeout=30).json()

            assert receiver.first_arrived.wait(REDO_SECONDS), "the first delivery never arrived"
            worker.kill()  # mid-delivery: the POST is still waiting for its answer
            receiver.release()
            replacement = CeleryWorker(server.env, server.data_dir / "worker-2.log").start()
            wait_for(lambda: receiver.event_ids().count(event["id"]) >= 2, REDO_SECONDS,
                     message="the killed delivery to be redone")
        finally:
            for process in (worker, replacement):
                if process:
                    process.stop()
            receiver.close()
    record("faults", worker_killed_during_webhook_delivery="redone")
    add("faults", "injected")
    add("faults", "survived")


def test_worker_killed_during_a_trigger_fire_still_creates_exactly_one_intent(production_database):
    if not has_route(f"/api/v1/triggers/{uuid.uuid4()}/fire", "post"):
        pytest.skip("triggers (POST /api/v1/triggers, RFC-0017) are not merged yet")
    title = f"fault-trigger-{uuid.uuid4().hex[:8]}"
    worker = replacement = None
    with PrivateRedis() as redis, live_server(production_database.url, redis.url) as server:
        lock_holder = pg_connect(production_database.url)
        try:
            api = requests.Session()
            api.headers.update(HEADERS)
            at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3)).replace(tzinfo=None)
            response = api.post(f"{server.url}/api/v1/triggers", json={
                "name": title, "type": "schedule", "condition": {"at": at.isoformat()},
                "intent_template": {"title": title},
            }, timeout=30)
            assert response.status_code == 200, response.text

            # Block intent inserts (reads still work) so the fire stalls inside its transaction.
            lock_holder.autocommit = False
            lock_holder.execute("LOCK TABLE intents_intent IN SHARE ROW EXCLUSIVE MODE")
            worker = CeleryWorker(server.env, server.data_dir / "worker-1.log").start()

            def fire_is_blocked():
                with pg_connect(production_database.url) as probe:
                    return probe.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO \"intents_intent\"%'"
                    ).fetchone()[0]

            wait_for(fire_is_blocked, REDO_SECONDS, message="the trigger fire to reach the intent insert")
            worker.kill()
            lock_holder.rollback()  # releases the lock; the dead worker's transaction rolls back
            replacement = CeleryWorker(server.env, server.data_dir / "worker-2.log").start()

            def created() -> int:
                with pg_connect(production_database.url) as probe:
                    return probe.execute("SELECT count(*) FROM intents_intent WHERE title = %s", [title]).fetchone()[0]

            wait_for(lambda: created() >= 1, REDO_SECONDS, message="the killed trigger fire to be redone")
            time.sleep(float(VISIBILITY_TIMEOUT) + 3)  # any duplicate redelivery would land by now
            assert created() == 1, f"{created()} intents for one trigger tick"
        finally:
            lock_holder.close()
            for process in (worker, replacement):
                if process:
                    process.stop()
    record("faults", worker_killed_during_trigger_fire="exactly one intent")
    add("faults", "injected")
    add("faults", "survived")
