"""Leases (spec 03): every method, the context manager, and two example agents coordinating."""

from __future__ import annotations

import threading
import time

import pytest

from openintent_sdk import Client, Lease, LeaseConflictError, NotFoundError

from .sdk_testlib import DEV_KEY, load_example, unique

pytestmark = [pytest.mark.live, pytest.mark.requires_route(
    "POST /api/v1/intents/{id}/leases", "GET /api/v1/intents/{id}/leases",
    "PATCH /api/v1/intents/{id}/leases/{lease_id}", "DELETE /api/v1/intents/{id}/leases/{lease_id}")]

def test_acquire_list_renew_release(client, intent, agent_id):
    lease = client.leases.acquire(intent.id, "research", duration_seconds=30)
    assert isinstance(lease, Lease) and lease.agent_id == agent_id and lease.scope == "research"
    assert lease.is_active and lease.expires_at > lease.acquired_at
    listed = client.leases.list(intent.id)
    assert [l.id for l in listed] == [lease.id] and listed[0].status == "active"
    renewed = client.leases.renew(intent.id, lease.id, duration_seconds=120)
    assert renewed.id == lease.id and renewed.expires_at > lease.expires_at
    client.leases.release(intent.id, lease.id)
    client.leases.release(intent.id, lease.id)  # idempotent
    assert client.leases.list(intent.id, status="active") == []
    assert client.leases.list(intent.id)[0].status == "released"


def test_conflict_carries_the_existing_lease(client, intent, server_url):
    lease = client.leases.acquire(intent.id, "editor", 30)
    other = Client(server_url, DEV_KEY, unique("other"))
    with pytest.raises(LeaseConflictError) as err:
        other.leases.acquire(intent.id, "editor", 30)
    assert err.value.status_code == 409 and err.value.existing_lease["id"] == lease.id
    with pytest.raises(NotFoundError):
        other.leases.release(intent.id, lease.id)  # not the owner
    with pytest.raises(NotFoundError):
        other.leases.renew(intent.id, lease.id, 30)


def test_context_manager_renews_and_releases_even_on_error(client, intent):
    with pytest.raises(RuntimeError):
        with client.lease(intent.id, "draft", duration_seconds=3, renew_every=0.5) as held:
            first_expiry = held.lease.expires_at
            time.sleep(1.6)
            assert held.renewals >= 2 and held.lease.expires_at > first_expiry
            assert not held.lost.is_set()
            raise RuntimeError("handler blew up")
    (lease,) = client.leases.list(intent.id)
    assert lease.status == "released"


def test_context_manager_waits_for_the_holder(client, intent, server_url):
    other = Client(server_url, DEV_KEY, unique("other"))
    held = other.leases.acquire(intent.id, "scope-w", 30)
    threading.Timer(0.8, other.leases.release, args=(intent.id, held.id)).start()
    started = time.monotonic()
    with client.lease(intent.id, "scope-w", duration_seconds=10, wait=10, poll_interval=0.1) as mine:
        assert mine.lease.agent_id == client.agent_id
    assert time.monotonic() - started >= 0.7
    other.leases.acquire(intent.id, "scope-busy", 30)
    with pytest.raises(LeaseConflictError):
        client.lease(intent.id, "scope-busy", 10, wait=0.3).acquire()


def test_two_example_agents_coordinate_through_leases(server_url):
    example = load_example("lease_agents")
    log = example.main(server_url, DEV_KEY, rounds=2, pause=0.2)
    assert len(log) == 8
    for start, end in zip(log[::2], log[1::2]):
        agent = start.split(":")[0]
        assert start == f"{agent}:start" and end == f"{agent}:end"
    assert {entry.split(":")[0] for entry in log} == {"writer-agent", "reviewer-agent"}
