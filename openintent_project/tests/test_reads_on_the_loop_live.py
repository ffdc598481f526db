"""An idle web process runs API reads on its event loop's thread (``handlers``). A read that
writes must not wait for a lock there: while another client holds the lock it needs, the
process goes on answering everyone else, and the read answers once the lock is free."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from openintent_project.testing import LiveServer

pytestmark = pytest.mark.live

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "alice"}


@pytest.fixture(scope="module")
def sqlite_server():
    with LiveServer(web_processes=1) as server:
        yield server


def _memory_entry(server: LiveServer) -> str:
    response = requests.post(f"{server.url}/api/v1/memory", headers=HEADERS, timeout=10,
                             json={"agent_id": "alice", "namespace": "ns", "key": "k", "value": {"v": 1}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _read_waits_for_the_lock_and_the_process_goes_on(server: LiveServer, entry_id: str, release) -> None:
    with ThreadPoolExecutor(1) as pool:
        # Reading a memory entry records when it was read: a write, which waits for the lock.
        waiting = pool.submit(requests.get, f"{server.url}/api/v1/memory/{entry_id}", headers=HEADERS, timeout=30)
        time.sleep(0.5)
        assert not waiting.done()
        started = time.monotonic()
        others = [requests.get(f"{server.url}{path}", headers=HEADERS, timeout=5)
                  for path in ("/.well-known/openintent.json", "/api/v1/intents", "/api/v1/agents")]
        assert [response.status_code for response in others] == [200, 200, 200]
        assert time.monotonic() - started < 3
        assert not waiting.done()
        release()
        answer = waiting.result(timeout=30)
    assert answer.status_code == 200 and answer.json()["value"] == {"v": 1}


def test_on_sqlite_a_read_waiting_for_the_write_lock_holds_up_nothing_else(sqlite_server):
    entry_id = _memory_entry(sqlite_server)
    holder = sqlite3.connect(sqlite_server.data_dir / "db.sqlite3", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a long writer would hold it
    try:
        _read_waits_for_the_lock_and_the_process_goes_on(sqlite_server, entry_id, lambda: holder.execute("ROLLBACK"))
    finally:
        holder.close()


@pytest.mark.production
def test_on_postgresql_a_read_waiting_for_a_row_lock_holds_up_nothing_else(production_database, production_redis_url):
    import psycopg

    with LiveServer(web_processes=1, database_url=production_database.url, redis_url=production_redis_url) as server:
        entry_id = _memory_entry(server)
        holder = psycopg.connect(production_database.url)
        holder.execute("SELECT 1 FROM agents_registry_memoryentry WHERE id = %s FOR UPDATE", [entry_id])
        lock = threading.Lock()  # psycopg connections are not for two threads at once
        try:
            def release():
                with lock:
                    holder.rollback()
            _read_waits_for_the_lock_and_the_process_goes_on(server, entry_id, release)
        finally:
            holder.close()


def test_an_operator_s_audited_read_answers_from_an_idle_process_and_is_audited_once(sqlite_server):
    """Reading past an intent's ACL as an operator records an audit event: a read that
    writes, so it starts over on a request thread, and the event is written once."""
    url = sqlite_server.url
    intent = requests.post(f"{url}/api/v1/intents", json={"title": "private"}, headers=HEADERS, timeout=10).json()
    acl = requests.put(f"{url}/api/v1/intents/{intent['id']}/acl", json={"default_policy": "closed"},
                       headers=HEADERS, timeout=10)
    assert acl.status_code == 200, acl.text
    operator = {"X-API-Key": "operator-key", "X-Agent-ID": "ops"}
    read = requests.get(f"{url}/api/v1/intents/{intent['id']}", headers=operator, timeout=10)
    assert read.status_code == 200 and read.json()["title"] == "private"
    events = requests.get(f"{url}/api/v1/intents/{intent['id']}/events", headers=HEADERS, timeout=10).json()
    audits = [event for event in events if event["event_type"] == "access_granted"
              and event["payload"].get("action") == "operator_override" and event["payload"].get("permission") == "read"]
    assert len(audits) == 1 and audits[0]["actor"] == "ops"
