"""The governance beat jobs run for real: a live server with a Celery worker and beat, the
periods shortened through the environment (settings/governance.py)."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from openintent import OpenIntentClient
from openintent.models import AccessPolicy, Permission

from openintent_project.testing import LiveServer, PostgresDatabase, redis_test_url

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=["embedded", pytest.param("production", marks=pytest.mark.production)])
def server(request):
    """The embedded mode (SQLite, no Redis) and the production mode (PostgreSQL, where the
    sweeps claim rows with SKIP LOCKED, and Redis)."""
    env = {"ACL_EXPIRY_SECONDS": "1", "COORDINATOR_SWEEP_SECONDS": "1"}
    if request.param == "embedded":
        with LiveServer(web_processes=1, worker=True, beat=True, env=env) as live:
            yield live
        return
    database = PostgresDatabase()
    try:
        with LiveServer(web_processes=2, worker=True, beat=True, env=env, database_url=database.url,
                        redis_url=redis_test_url()) as live:
            yield live
    finally:
        database.drop()


def _wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def _event(client, intent_id, event_type):
    resp = client._client.get(f"/api/v1/intents/{intent_id}/events", params={"event_type": event_type})
    return [e for e in resp.json() if e["event_type"] == event_type]


def test_acl_entries_expire_by_beat(server):
    owner = OpenIntentClient(server.url, api_key="dev-user-key", agent_id="beat-owner")
    guest = OpenIntentClient(server.url, api_key="dev-user-key", agent_id="beat-guest")
    intent = owner.create_intent("Expiring grant")
    owner.set_acl(intent.id, default_policy=AccessPolicy.CLOSED)
    owner.grant_access(intent.id, "beat-guest", permission=Permission.WRITE,
                       expires_at=datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=2))
    assert guest.get_intent(intent.id).id == intent.id
    [expired] = _wait_for(lambda: _event(owner, intent.id, "access_expired"))
    assert expired["actor"] == "system" and expired["payload"]["principal_id"] == "beat-guest"
    assert owner.get_acl(intent.id).entries == []
    resp = guest._client.get(f"/api/v1/intents/{intent.id}")
    assert resp.status_code == 403


def test_silent_coordinator_fails_over_by_beat(server):
    owner = OpenIntentClient(server.url, api_key="dev-user-key", agent_id="beat-coord")
    intent = owner.create_intent("Silent coordinator")
    lease = owner.create_coordinator_lease("beat-coord", intent.id, heartbeat_interval_seconds=1,
                                           supervisor_id="human-boss", metadata={"failover_pool": ["beat-backup"]})
    [unresponsive] = _wait_for(lambda: _event(owner, intent.id, "coordinator.unresponsive"))
    assert unresponsive["payload"]["coordinator_id"] == "beat-coord"
    [failed] = _wait_for(lambda: _event(owner, intent.id, "coordinator.failed_over"))
    assert failed["payload"] == {"old_coordinator_id": "beat-coord", "new_coordinator_id": "beat-backup",
                                 "state_transferred": True}
    assert owner.get_coordinator_lease(lease.id).status.value == "failed_over"
    escalations = owner.list_escalations(intent_id=intent.id)
    ours = [e for e in escalations if e.context.get("lease_id") == lease.id]
    assert len(ours) == 1 and ours[0].escalated_by == "system" and ours[0].priority == "high"


def test_concurrent_decisions_decide_once(server):
    """Resolve-once and decide-once hold under concurrent requests (row locks)."""
    import requests
    from concurrent.futures import ThreadPoolExecutor

    headers = {"X-API-Key": "dev-user-key", "X-Agent-ID": "racer"}
    base = f"{server.url}/api/v1"
    iid = requests.post(f"{base}/intents", json={"title": "Race"}, headers=headers, timeout=10).json()["id"]
    esc = requests.post(f"{base}/intents/{iid}/escalations", json={"reason": "r"}, headers=headers, timeout=10).json()
    appr = requests.post(f"{base}/intents/{iid}/approvals", json={"action": "complete"}, headers=headers, timeout=10).json()

    def call(args):
        url, body = args
        return requests.post(url, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        resolves = list(pool.map(call, [(f"{base}/escalations/{esc['id']}/resolve", {"resolution": f"r{i}"}) for i in range(6)]))
        decides = list(pool.map(call, [(f"{base}/intents/{iid}/approvals/{appr['id']}/{verb}", None)
                                       for verb in ("approve", "deny") * 3]))
    assert sorted(resolves) == [200] + [409] * 5
    assert sorted(decides) == [200] + [409] * 5
    events = requests.get(f"{base}/intents/{iid}/events", headers=headers, timeout=10).json()
    assert sum(e["event_type"] == "escalation_resolved" for e in events) == 1
    assert sum(e["event_type"].startswith("governance.approval_") for e in events) == 1
