"""Fault injection: Redis dies (SIGKILL, no persistence: every queued message in it is lost)
while agents write, and comes back empty (issue 9).

Expected: writes keep succeeding and are stored (PostgreSQL is the source of truth; Redis only
carries wake-ups and task messages); when Redis returns, an SSE stream held across the outage
shows every event written during it (streams re-read the log), and every webhook
subscription receives every event (the delivery outbox lives in PostgreSQL). Parts that need
the streams or webhook features run as soon as their routes exist.

The Redis here is a private ``redis-server`` on a free port: the machine's shared one is never
stopped."""

from __future__ import annotations

import time

import pytest
import requests

from openintent_project.testing import LiveServer

from .faults import FAST_BACKGROUND_ENV, HookReceiver, PrivateRedis, SSEReader, has_route, intent_stream_path, wait_for
from .figures import add, record

pytestmark = [pytest.mark.production, pytest.mark.live]

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-redis-fault"}
WRITES = 12
CATCH_UP_SECONDS = float(__import__("os").environ.get("OPENINTENT_FAULT_CATCH_UP_SECONDS", "60"))


def test_redis_outage_loses_nothing(production_database):
    redis = PrivateRedis().start()
    receiver = HookReceiver()
    reader = None
    try:
        with LiveServer(web_processes=2, worker=True, beat=True, database_url=production_database.url,
                        redis_url=redis.url, env=FAST_BACKGROUND_ENV) as server:
            api = requests.Session()
            api.headers.update(HEADERS)
            intent = api.post(f"{server.url}/api/v1/intents", json={"title": "redis fault"}, timeout=30).json()
            intent_id = intent["id"]

            webhooks = has_route("/api/v1/subscriptions", "post")
            if webhooks:
                response = api.post(f"{server.url}/api/v1/subscriptions",
                                    json={"intent_id": intent_id, "webhook_url": receiver.url}, timeout=30)
                assert response.status_code == 200, response.text
            stream_path = intent_stream_path(intent_id)
            if stream_path:
                reader = SSEReader(server.url + stream_path, HEADERS)
                wait_for(reader.connected.is_set, 30, message="the SSE stream to open")

            redis.kill()
            written: list[dict] = []
            slowest = 0.0
            for n in range(WRITES):
                started = time.monotonic()
                response = api.post(f"{server.url}/api/v1/intents/{intent_id}/events",
                                    json={"event_type": "note", "actor": "agent-redis-fault", "payload": {"n": n}},
                                    timeout=60)
                assert response.status_code == 200, f"write {n} with Redis down: {response.status_code} {response.text[:300]}"
                written.append(response.json())
                current = api.get(f"{server.url}/api/v1/intents/{intent_id}", timeout=60).json()
                response = api.post(f"{server.url}/api/v1/intents/{intent_id}/state",
                                    json={"patches": [{"op": "set", "path": "n", "value": n}]},
                                    headers={"If-Match": str(current["version"])}, timeout=60)
                assert response.status_code == 200, f"patch {n} with Redis down: {response.status_code} {response.text[:300]}"
                slowest = max(slowest, time.monotonic() - started)
                other = api.post(f"{server.url}/api/v1/intents", json={"title": f"created while Redis is down {n}"}, timeout=60)
                assert other.status_code == 200, other.text

            # Stored, while Redis is still down.
            events = api.get(f"{server.url}/api/v1/intents/{intent_id}/events", timeout=60).json()
            stored = {event["id"] for event in events}
            assert {event["id"] for event in written} <= stored
            final = api.get(f"{server.url}/api/v1/intents/{intent_id}", timeout=60).json()
            assert final["version"] == 1 + WRITES and final["state"]["n"] == WRITES - 1

            redis.start()  # same port, empty
            caught_up = []
            if reader is not None:
                # The stream started live after the intent's creation (no Last-Event-ID): it
                # owes every event from the first one written during the outage.
                expected = {str(event["sequence"]) for event in events if event["id"] in {w["id"] for w in written}
                            or event["sequence"] > written[0]["sequence"]}
                wait_for(lambda: expected <= set(reader.ids), CATCH_UP_SECONDS,
                         message=f"the stream to show every event (missing {sorted(expected - set(reader.ids))[:5]})")
                caught_up.append("stream")
            if webhooks:
                expected = {event["id"] for event in events if event["event_type"] == "note"}
                wait_for(lambda: expected <= set(receiver.event_ids()), CATCH_UP_SECONDS,
                         message="every webhook delivery")
                caught_up.append("webhooks")
            # And the server still works normally with Redis back.
            assert api.post(f"{server.url}/api/v1/intents", json={"title": "after"}, timeout=30).status_code == 200
    finally:
        if reader is not None:
            reader.stop()
        receiver.close()
        redis.kill()

    record("faults", redis_outage_writes=WRITES * 3, redis_slowest_write_round_seconds=round(slowest, 2),
           redis_caught_up=caught_up or ["(no streams/webhooks routes yet)"])
    add("faults", "injected")
    add("faults", "survived")
