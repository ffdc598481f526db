"""Concurrency soak (issue 9): many agents, a mixed workload, a fixed time, against two web
processes on PostgreSQL (with Redis for the channel layer), then invariants checked from the
database:

* every intent's version is 1 + its successful mutations (and each successful mutation got its
  own version number);
* every intent's event sequence is gap-free (1..n, matching the intent's counter);
* no scope ever had two active leases at the same time (when leases exist);
* every stream client saw every event of its intent (when streams exist).

``OPENINTENT_SOAK_SECONDS`` (default 20) and ``OPENINTENT_SOAK_AGENTS`` (default 8) bound it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
import requests

from openintent_project.testing import LiveServer

from .faults import FAST_BACKGROUND_ENV, PrivateRedis, SSEReader, has_route, intent_stream_path, pg_connect, wait_for
from .figures import record

pytestmark = [pytest.mark.production, pytest.mark.live]

SOAK_SECONDS = float(os.environ.get("OPENINTENT_SOAK_SECONDS", "20"))
AGENTS = int(os.environ.get("OPENINTENT_SOAK_AGENTS", "8"))
STREAMED_INTENTS = 3
LEASE_INTENTS = 2
SCOPES = ("plan", "draft", "review")
MAX_RETRIES = 20


class Soak:
    def __init__(self, base: str, leases: bool) -> None:
        self.base = base
        self.leases = leases
        self.lock = threading.Lock()
        self.pool: list[str] = []  # intents the agents patch and write events to
        self.lease_intents: list[str] = []  # intents the agents race leases on (never patched)
        self.versions: dict[str, list[int]] = defaultdict(list)  # versions won by successful mutations
        self.statuses: Counter = Counter()
        self.operations: Counter = Counter()
        self.failures: list[str] = []
        self.lease_wins: list[dict] = []
        self.served_by: Counter = Counter()  # web process id -> responses (one connection per agent)

    def session(self, agent: str) -> requests.Session:
        session = requests.Session()
        session.headers.update({"X-API-Key": "dev-user-key", "X-Agent-ID": agent})
        return session

    def call(self, session, method, path, **kwargs):
        try:
            response = session.request(method, self.base + path, timeout=60, **kwargs)
        except requests.RequestException as error:
            with self.lock:
                self.failures.append(f"{method} {path}: {error!r}")
            return None
        with self.lock:
            self.statuses[response.status_code] += 1
            self.served_by[response.headers.get("X-Served-By")] += 1
            if response.status_code >= 500:
                self.failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def create(self, session, agent) -> str | None:
        response = self.call(session, "POST", "/api/v1/intents", json={"title": f"soak {agent}", "state": {}})
        if response is not None and response.status_code == 200:
            return response.json()["id"]
        return None

    def mutate(self, session, agent, rng) -> None:
        intent_id = rng.choice(self.pool)
        status_change = rng.random() < 0.1
        for _ in range(MAX_RETRIES):
            current = self.call(session, "GET", f"/api/v1/intents/{intent_id}")
            if current is None or current.status_code != 200:
                return
            version = current.json()["version"]
            if status_change:
                response = self.call(session, "POST", f"/api/v1/intents/{intent_id}/status",
                                     json={"status": rng.choice(["active", "draft"])}, headers={"If-Match": str(version)})
            else:
                response = self.call(session, "POST", f"/api/v1/intents/{intent_id}/state",
                                     json={"patches": [{"op": "set", "path": agent, "value": version}]},
                                     headers={"If-Match": str(version)})
            if response is None:
                return
            if response.status_code == 200:
                with self.lock:
                    self.versions[intent_id].append(response.json()["version"])
                    self.operations["mutations"] += 1
                return
            if response.status_code != 409:
                with self.lock:
                    self.failures.append(f"mutation of {intent_id}: {response.status_code} {response.text[:200]}")
                return
            with self.lock:
                self.operations["retries_after_409"] += 1
            time.sleep(rng.random() * 0.02)

    def append_event(self, session, agent, rng) -> None:
        intent_id = rng.choice(self.pool)
        response = self.call(session, "POST", f"/api/v1/intents/{intent_id}/events",
                             json={"event_type": "soak_note", "actor": agent, "payload": {"r": rng.random()}})
        if response is not None and response.status_code == 200:
            with self.lock:
                self.operations["events"] += 1

    def race_lease(self, session, agent, rng) -> None:
        intent_id = rng.choice(self.lease_intents)
        scope = rng.choice(SCOPES)
        response = self.call(session, "POST", f"/api/v1/intents/{intent_id}/leases",
                             json={"scope": scope, "duration_seconds": 2})
        if response is None:
            return
        if response.status_code == 409:
            with self.lock:
                self.operations["leases_refused"] += 1
            return
        if response.status_code != 200:
            with self.lock:
                self.failures.append(f"lease acquire: {response.status_code} {response.text[:200]}")
            return
        lease = response.json()
        with self.lock:
            self.operations["leases_won"] += 1
            self.lease_wins.append(lease)
        time.sleep(rng.random() * 0.2)
        if rng.random() < 0.8:  # the rest expire on their own
            self.call(session, "DELETE", f"/api/v1/intents/{intent_id}/leases/{lease['id']}")

    def agent(self, n: int, deadline: float) -> None:
        agent = f"agent-soak-{n}"
        rng = random.Random(n)
        session = self.session(agent)
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            if rounds % 10 == 0:
                # A fresh connection now and then: the two web processes share one listening
                # socket, and the kernel hands each new connection to either of them.
                session.close()
                session = self.session(agent)
            roll = rng.random()
            if roll < 0.12:
                intent_id = self.create(session, agent)
                if intent_id:
                    with self.lock:
                        self.pool.append(intent_id)
                        self.operations["creates"] += 1
            elif roll < 0.55:
                self.mutate(session, agent, rng)
            elif roll < 0.8 or not self.leases:
                self.append_event(session, agent, rng)
            else:
                self.race_lease(session, agent, rng)


def parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "")).replace(tzinfo=None)


def lease_overlaps(database_url: str, base: str, lease_intents: list[str]) -> tuple[int, list[str]]:
    """Leases per (intent, scope) as intervals [acquired_at, released_at or expires_at), read
    from the lease table when it has the spec's columns (03), else from the lease list."""
    rows: list[tuple] = []
    with pg_connect(database_url) as conn:
        table = conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name IN ('scope', 'acquired_at', 'expires_at', 'released_at', 'intent_id') "
            "AND table_name LIKE '%%lease%%' GROUP BY table_name HAVING count(*) = 5"
        ).fetchone()
        if table:
            rows = conn.execute(
                f'SELECT intent_id::text, scope, acquired_at, least(coalesce(released_at, expires_at), expires_at) '
                f'FROM "{table[0]}" WHERE intent_id::text = ANY(%s) OR replace(intent_id::text, \'-\', \'\') = ANY(%s)',
                [lease_intents, [i.replace("-", "") for i in lease_intents]],
            ).fetchall()
    if not rows:
        for intent_id in lease_intents:
            listed = requests.get(f"{base}/api/v1/intents/{intent_id}/leases",
                                  headers={"X-API-Key": "dev-user-key"}, timeout=60).json()
            for lease in listed.get("leases", listed if isinstance(listed, list) else []):
                end = parse_ts(lease["expires_at"])
                if lease.get("released_at"):
                    end = min(end, parse_ts(lease["released_at"]))
                rows.append((intent_id, lease["scope"], parse_ts(lease["acquired_at"]), end))
    by_scope: dict[tuple, list] = defaultdict(list)
    for intent_id, scope, start, end in rows:
        by_scope[(intent_id.replace("-", ""), scope)].append((start, end))
    overlaps = []
    for key, intervals in by_scope.items():
        intervals.sort()
        for (start_a, end_a), (start_b, end_b) in zip(intervals, intervals[1:]):
            if start_b < end_a:
                overlaps.append(f"{key}: [{start_a}, {end_a}) overlaps [{start_b}, {end_b})")
    return len(rows), overlaps


def test_soak_mixed_workload_keeps_every_invariant(production_database):
    with PrivateRedis() as redis, LiveServer(web_processes=2, database_url=production_database.url,
                                             redis_url=redis.url,
                                             env={**FAST_BACKGROUND_ENV, "OPENINTENT_EXPOSE_PROCESS_ID": "1"}) as server:
        leases = has_route("/api/v1/intents/00000000-0000-0000-0000-000000000000/leases", "post")
        soak = Soak(server.url, leases)
        setup = soak.session("agent-soak-setup")
        for _ in range(STREAMED_INTENTS + 3):
            soak.pool.append(soak.create(setup, "setup"))
        for _ in range(LEASE_INTENTS):
            soak.lease_intents.append(soak.create(setup, "setup"))
        assert all(soak.pool) and all(soak.lease_intents)

        readers: dict[str, SSEReader] = {}
        if intent_stream_path(soak.pool[0]):
            for intent_id in soak.pool[:STREAMED_INTENTS]:
                readers[intent_id] = SSEReader(server.url + intent_stream_path(intent_id),
                                               {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-soak-watcher"})
            for reader in readers.values():
                wait_for(reader.connected.is_set, 30, message="the soak streams to open")

        started = time.monotonic()
        deadline = started + SOAK_SECONDS
        threads = [threading.Thread(target=soak.agent, args=(n, deadline)) for n in range(AGENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started

        # --- invariants, from the database ----------------------------------------------------
        with pg_connect(production_database.url) as conn:
            rows = conn.execute(
                """
                SELECT i.id::text, i.version, i.event_sequence, count(e.id), coalesce(max(e.sequence), 0),
                       count(DISTINCT e.sequence),
                       count(*) FILTER (WHERE e.event_type IN ('state_patched', 'status_changed'))
                FROM intents_intent i LEFT JOIN intents_event e ON e.intent_id = i.id
                GROUP BY i.id
                """
            ).fetchall()
        by_id = {row[0].replace("-", ""): row for row in rows}
        problems = list(soak.failures)
        for intent_id in soak.pool:
            _, version, _, _, _, _, mutation_events = by_id[intent_id.replace("-", "")]
            won = sorted(soak.versions.get(intent_id, []))
            if version != 1 + len(won):
                problems.append(f"{intent_id}: version {version} but {len(won)} successful mutations")
            if won != list(range(2, version + 1)):
                problems.append(f"{intent_id}: mutation versions {won[:10]}… are not 2..{version}")
            if mutation_events != len(won):
                problems.append(f"{intent_id}: {mutation_events} mutation events for {len(won)} mutations")
        for intent_id, _, counter, events, max_sequence, distinct, _ in rows:
            if not (events == distinct == max_sequence == counter):
                problems.append(f"{intent_id}: sequence not gap-free ({events} events, {distinct} distinct, "
                                f"max {max_sequence}, counter {counter})")

        lease_rows, overlaps = (0, [])
        if leases:
            lease_rows, overlaps = lease_overlaps(production_database.url, server.url, soak.lease_intents)
            problems += overlaps

        streamed_events = 0
        for intent_id, reader in readers.items():
            expected = {str(n) for n in range(2, by_id[intent_id.replace("-", "")][4] + 1)}
            try:
                wait_for(lambda: expected <= set(reader.ids), 30, message=f"stream of {intent_id}")
            except AssertionError:
                problems.append(f"stream of {intent_id} missed {sorted(expected - set(reader.ids), key=int)[:10]}")
            if len(reader.ids) != len(set(reader.ids)):
                problems.append(f"stream of {intent_id} saw duplicates")
            streamed_events += len(reader.ids)
            reader.stop()

    assert not problems, "\n".join(problems[:30])
    assert len([pid for pid in soak.served_by if pid]) >= 2, f"one web process served everything: {soak.served_by}"
    total = sum(soak.statuses.values())
    assert soak.operations["mutations"] > 0 and soak.operations["events"] > 0
    record("soak", seconds=round(elapsed, 1), agents=AGENTS, web_processes=2, requests=total,
           requests_per_second=round(total / elapsed, 1),
           responses_per_process=sorted(soak.served_by.values()), statuses=dict(soak.statuses), **dict(soak.operations),
           intents_checked=len(rows), lease_rows_checked=lease_rows,
           streams=len(readers), streamed_frames=streamed_events,
           invariants=["version == 1 + successful mutations", "gap-free event sequences"]
           + (["no overlapping active leases"] if leases else [])
           + (["every stream saw every event"] if readers else []))
