"""Fault injection: PostgreSQL becomes unreachable for a few seconds while agents write
(issue 9). A TCP proxy between the two web processes and PostgreSQL drops every connection
and refuses new ones, then lets them through again.

Expected: during the outage every request gets a clean 503 in the protocol shape (never a
500, never a hung or reset connection); after it the server recovers without a restart; and
the database holds no partial write — every intent has its creation event, gap-free event
sequences and a version that matches its state_patched events."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from openintent_project.testing import LiveServer

from .faults import TcpProxy, pg_connect
from .figures import add, record

pytestmark = [pytest.mark.production, pytest.mark.live]

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-db-fault"}
WRITERS = 4
OUTAGE_SECONDS = 3.0


def writer(base: str, stop: threading.Event, log: list, lock: threading.Lock) -> None:
    """Create an intent, patch it, post an event; repeat. Every answer is logged."""
    session = requests.Session()
    session.headers.update(HEADERS)

    def note(kind, response=None, error=None, intent_id=None):
        with lock:
            log.append({"kind": kind, "status": response.status_code if response is not None else None,
                        "body": _json(response), "error": error, "at": time.monotonic(),
                        "retry_after": response.headers.get("Retry-After") if response is not None else None,
                        "intent_id": intent_id})

    while not stop.is_set():
        try:
            response = session.post(f"{base}/api/v1/intents", json={"title": "db fault", "state": {"n": 0}}, timeout=30)
            note("create", response)
            if response.status_code != 200:
                time.sleep(0.05)
                continue
            intent = response.json()
            response = session.post(
                f"{base}/api/v1/intents/{intent['id']}/state",
                json={"patches": [{"op": "set", "path": "n", "value": 1}]},
                headers={"If-Match": str(intent["version"])}, timeout=30,
            )
            note("patch", response, intent_id=intent["id"])
            response = session.post(
                f"{base}/api/v1/intents/{intent['id']}/events",
                json={"event_type": "note", "actor": "agent-db-fault", "payload": {"k": 1}}, timeout=30,
            )
            note("event", response, intent_id=intent["id"])
        except requests.RequestException as error:
            note("error", error=repr(error))
            time.sleep(0.05)


def _json(response):
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def test_database_outage_gives_clean_503s_and_no_partial_writes(production_database):
    proxy = TcpProxy()
    log: list[dict] = []
    lock = threading.Lock()
    try:
        with LiveServer(web_processes=2, database_url=proxy.url_for(production_database.url),
                        env={"DB_CONN_MAX_AGE": "60"}) as server:
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(server.url, stop, log, lock)) for _ in range(WRITERS)]
            for thread in threads:
                thread.start()
            time.sleep(2.0)
            cut_at = time.monotonic()
            proxy.cut()
            time.sleep(OUTAGE_SECONDS)
            proxy.restore()
            restored_at = time.monotonic()
            time.sleep(3.0)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            # The server came back without a restart.
            after = requests.get(f"{server.url}/api/v1/intents?limit=1", headers=HEADERS, timeout=30)
            assert after.status_code == 200, after.text
    finally:
        proxy.close()

    errors = [entry for entry in log if entry["kind"] == "error"]
    assert not errors, f"connections failed instead of answering: {errors[:3]}"
    statuses = [entry["status"] for entry in log]
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    unavailable = [entry for entry in log if entry["status"] == 503]
    assert unavailable, "the outage produced no 503: the fault was not injected"
    for entry in unavailable:
        assert entry["body"] == {"detail": "Service temporarily unavailable", "message": "Service temporarily unavailable"}
        assert entry["retry_after"] == "1"
    assert any(entry["status"] == 200 and entry["at"] > restored_at for entry in log), "no success after the outage"
    assert any(entry["status"] == 200 and entry["at"] < cut_at for entry in log)

    created_ok = {entry["body"]["id"] for entry in log if entry["kind"] == "create" and entry["status"] == 200}
    patched_ok = {entry["intent_id"] for entry in log if entry["kind"] == "patch" and entry["status"] == 200}
    with pg_connect(production_database.url) as conn:
        rows = conn.execute(
            """
            SELECT i.id::text, i.version, i.event_sequence,
                   count(e.id), coalesce(max(e.sequence), 0),
                   count(*) FILTER (WHERE e.event_type = 'intent_created'),
                   count(*) FILTER (WHERE e.event_type = 'state_patched')
            FROM intents_intent i LEFT JOIN intents_event e ON e.intent_id = i.id
            GROUP BY i.id
            """
        ).fetchall()
    stored = {row[0].replace("-", ""): row for row in rows}
    for intent_id in created_ok:
        assert intent_id.replace("-", "") in stored, f"intent {intent_id} answered 200 but is not stored"
    for intent_id, version, counter, events, max_sequence, created, patched in rows:
        assert created == 1, f"{intent_id}: {created} intent_created events"
        assert events == max_sequence == counter, f"{intent_id}: sequence gap ({events} events, max {max_sequence}, counter {counter})"
        assert version == 1 + patched, f"{intent_id}: version {version} but {patched} state_patched events"
    for intent_id in patched_ok:
        assert stored[intent_id.replace("-", "")][6] == 1, f"patch of {intent_id} answered 200 but is not stored"

    record("faults", database_outage_seconds=OUTAGE_SECONDS, database_requests=len(log),
           database_503s=len(unavailable), database_intents_checked=len(rows), database_connections_refused=proxy.refused)
    add("faults", "injected")
    add("faults", "survived")
