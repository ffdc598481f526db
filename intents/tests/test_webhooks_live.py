"""Webhook delivery by the real Celery worker and beat of a live server (embedded mode):
retries with backoff until the receiver answers, and a receiver that never answers ends
in failed deliveries after the configured attempts, none lost."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import requests

from openintent_project.testing import LiveServer, wait_for

from .sse_helpers import KEY, create_intent, post_event
from .webhook_receiver import Receiver, SilentReceiver, verify

pytestmark = pytest.mark.live

MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def server():
    env = {
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receivers live on loopback
        "WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "WEBHOOK_BACKOFF_BASE_SECONDS": "0.5",
        "WEBHOOK_BACKOFF_MAX_SECONDS": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "1",
        "WEBHOOK_SWEEP_SECONDS": "2",
    }
    with LiveServer(web_processes=1, worker=True, beat=True, env=env) as live:
        yield live


def subscribe(server, **body) -> dict:
    response = requests.post(f"{server.url}/api/v1/subscriptions", json=body, headers={"X-API-Key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def deliveries(server, subscription_id: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{server.data_dir / 'db.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT d.id, d.status, d.attempts, (SELECT COUNT(*) FROM intents_deliveryattempt a WHERE a.delivery_id = d.id)"
            " FROM intents_delivery d WHERE d.subscription_id = ?",
            [subscription_id.replace("-", "")],
        ).fetchall()
    finally:
        db.close()


def test_receiver_failing_twice_gets_the_event_on_the_third_attempt_signed(server):
    receiver = Receiver(statuses=[500, 503])
    try:
        intent = create_intent(server.url)
        created = subscribe(server, intent_id=intent["id"], event_types=["comment"], webhook_url=receiver.url)
        event = post_event(server.url, intent["id"], 1)
        assert wait_for(lambda: len(receiver.requests) >= 3, 30), receiver.requests
        time.sleep(1.5)
        assert len(receiver.requests) == 3  # delivered, so no fourth attempt
        bodies = [json.loads(r["body"]) for r in receiver.requests]
        assert all(body == {"subscription_id": created["id"], "event": bodies[0]["event"]} for body in bodies)
        assert bodies[0]["event"]["id"] == event["id"] and bodies[0]["event"]["payload"] == {"i": 1}
        # Same message id on every attempt (receivers de-duplicate on it), valid signatures.
        assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
        assert all(verify(created["secret"], r["headers"], r["body"]) for r in receiver.requests)
        assert wait_for(lambda: deliveries(server, created["id"]) and deliveries(server, created["id"])[0][1] == "delivered", 10)
        (_, status, attempts, logged), = deliveries(server, created["id"])
        assert (status, attempts, logged) == ("delivered", 3, 3)
    finally:
        receiver.close()


def test_receiver_that_never_answers_ends_failed_after_max_attempts_nothing_lost(server):
    receiver = SilentReceiver()
    try:
        intent = create_intent(server.url)
        created = subscribe(server, intent_id=intent["id"], webhook_url=receiver.url)
        for i in range(5):
            post_event(server.url, intent["id"], i)

        def all_failed():
            rows = deliveries(server, created["id"])
            return len(rows) == 5 and all(row[1] == "failed" for row in rows) and rows

        rows = wait_for(all_failed, 60)
        assert rows, deliveries(server, created["id"])
        assert all(row[2] == MAX_ATTEMPTS and row[3] == MAX_ATTEMPTS for row in rows)
        assert len(receiver.connections) >= 5 * MAX_ATTEMPTS
    finally:
        receiver.close()
