"""Leases, costs, retry policies, failures and LLM logging over real HTTP with the official
client (interop), the 32-agent acquire race on SQLite and PostgreSQL (two web processes),
and lease expiry by the real Celery beat job."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime

import pytest
import requests
from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent.exceptions import LeaseConflictError, NotFoundError, ValidationError
from openintent.models import LeaseStatus, RetryStrategy

from openintent_project.testing import LiveServer, wait_for

pytestmark = pytest.mark.live

KEY = "dev-user-key"
RACERS = 32
SHORT_BEAT = {"OPENINTENT_LEASE_EXPIRY_SECONDS": "1", "OPENINTENT_RETRY_FALLBACK_SWEEP_SECONDS": "1"}


def client(url: str, agent_id: str = "agent-x") -> OpenIntentClient:
    return OpenIntentClient(url, api_key=KEY, agent_id=agent_id)


def headers(agent_id: str) -> dict:
    return {"X-API-Key": KEY, "X-Agent-ID": agent_id}


def raw_events(url: str, intent_id: str, event_type: str) -> list[dict]:
    response = requests.get(f"{url}/api/v1/intents/{intent_id}/events", params={"event_type": event_type, "limit": 1000},
                            headers=headers("reader"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


# --- interop with the official client -----------------------------------------------------------

def test_official_client_lease_lifecycle(live_server_url):
    with client(live_server_url, "agent-x") as alice, client(live_server_url, "agent-y") as bob:
        intent = alice.create_intent("Lease interop")
        lease = alice.acquire_lease(intent.id, "research", duration_seconds=60)
        assert lease.agent_id == "agent-x" and lease.scope == "research"
        assert lease.status == LeaseStatus.ACTIVE and lease.is_active
        with pytest.raises(LeaseConflictError) as conflict:
            bob.acquire_lease(intent.id, "research")
        assert conflict.value.existing_lease["id"] == lease.id
        [listed] = bob.get_leases(intent.id)
        assert listed.id == lease.id and listed.status == LeaseStatus.ACTIVE
        renewed = alice.renew_lease(intent.id, lease.id, duration_seconds=600)
        assert renewed.expires_at > lease.expires_at
        with pytest.raises(NotFoundError):
            bob.release_lease(intent.id, lease.id)
        alice.release_lease(intent.id, lease.id)
        assert alice.get_leases(intent.id)[0].status == LeaseStatus.RELEASED
        alice.release_lease(intent.id, lease.id)  # idempotent
        assert len(raw_events(live_server_url, intent.id, "lease_released")) == 1


def test_official_client_lease_context_manager(live_server_url):
    with client(live_server_url, "agent-x") as alice, client(live_server_url, "agent-y") as bob:
        intent = alice.create_intent("Context manager")
        with alice.lease(intent.id, "synthesis", duration_seconds=30) as lease:
            assert lease.is_active
            with pytest.raises(LeaseConflictError):
                bob.acquire_lease(intent.id, "synthesis")
        assert alice.get_leases(intent.id)[0].status == LeaseStatus.RELEASED
        with bob.lease(intent.id, "synthesis") as taken:
            assert taken.agent_id == "agent-y"


def test_official_client_costs(live_server_url):
    with client(live_server_url, "agent-x") as alice:
        intent = alice.create_intent("Costs interop")
        cost = alice.record_cost(intent.id, "tokens", 1500, "tokens", provider="openai",
                                 metadata={"model": "gpt-4", "prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500})
        assert cost.agent_id == "agent-x" and cost.amount == 1500.0 and cost.metadata["model"] == "gpt-4"
        alice.record_cost(intent.id, "api_call", 2, "cents")
        costs, summary = alice.get_costs(intent.id)
        assert [c.id for c in costs][0] == cost.id and len(costs) == 2
        with pytest.raises(ValidationError):
            alice.record_cost(intent.id, "tokens", "lots", "tokens")
        data = requests.get(f"{live_server_url}/api/v1/intents/{intent.id}/costs?summary=true",
                            headers=headers("agent-x"), timeout=10).json()
        assert data["summary"]["total"] == 1502.0
        assert data["summary"]["by_provider"] == {"openai": 1500.0, "unspecified": 2.0}
        assert data["summary"]["llm"]["recorded"]["total_tokens"] == 1500


def test_async_client_cost_and_failure_bodies(live_server_url):
    async def run():
        async with AsyncOpenIntentClient(live_server_url, api_key=KEY, agent_id="agent-async") as aclient:
            intent = await aclient.create_intent("Async bodies", "async client bodies")
            cost = await aclient.record_cost(intent.id, "compute", 3.5, "seconds")
            failure = await aclient.record_failure(intent.id, "timeout", "slow", recoverable=True)
            return intent, cost, failure

    intent, cost, failure = asyncio.run(run())
    assert cost.agent_id == "agent-async"  # defaults to the principal (09)
    assert failure.attempt_number == 1 and failure.error_code == "timeout"


def test_official_client_retry_policy_and_failures(live_server_url):
    with client(live_server_url, "agent-x") as alice:
        intent = alice.create_intent("Retry interop")
        assert alice.get_retry_policy(intent.id) is None
        policy = alice.set_retry_policy(intent.id, RetryStrategy.LINEAR, max_retries=5, base_delay_ms=200,
                                        max_delay_ms=5000, fallback_agent_id="agent-fallback", failure_threshold=4)
        assert policy.strategy == RetryStrategy.LINEAR and policy.fallback_agent_id == "agent-fallback"
        fetched = alice.get_retry_policy(intent.id)
        assert fetched.id == policy.id and fetched.failure_threshold == 4 and fetched.created_at is not None
        failure = alice.record_failure(intent.id, attempt_number=2, error_code="RATE_LIMIT",
                                       retry_scheduled_at=datetime(2030, 1, 1, 0, 0, 5), metadata={"k": 1})
        assert failure.error_code == "RATE_LIMIT" and failure.agent_id == "agent-x"
        assert failure.retry_scheduled_at == datetime(2030, 1, 1, 0, 0, 5)
        [listed] = alice.get_failures(intent.id)
        assert listed.id == failure.id and listed.attempt_number == 2


def test_fallback_is_assigned_by_the_worker(live_server_url):
    with client(live_server_url, "agent-x") as alice:
        intent = alice.create_intent("Fallback")
        alice.set_retry_policy(intent.id, RetryStrategy.FIXED, fallback_agent_id="agent-b", failure_threshold=2)
        lease = alice.acquire_lease(intent.id, "work")
        alice.record_failure(intent.id, attempt_number=1, error_code="TIMEOUT")
        alice.record_failure(intent.id, attempt_number=2, error_code="TIMEOUT")
        assigned = wait_for(lambda: raw_events(live_server_url, intent.id, "agent_assigned"))
        assert assigned and assigned[0]["payload"] == {"agent_id": "agent-b", "role": "fallback"}
        assert assigned[0]["actor"] == "system"
        released = raw_events(live_server_url, intent.id, "lease_released")
        assert released[0]["payload"]["reason"] == "fallback" and released[0]["payload"]["lease_id"] == lease.id
        assert alice.get_leases(intent.id)[0].status == LeaseStatus.RELEASED


def test_official_client_llm_logging_helpers(live_server_url):
    with client(live_server_url, "agent-llm") as agent:
        intent = agent.create_intent("LLM telemetry")
        agent.log_llm_request_started(intent.id, "r1", "openai", "gpt-4", 3, tools_available=["search"], temperature=0.1, max_tokens=50)
        agent.log_tool_call_started(intent.id, "search", "t1", {"q": "x"}, provider="openai", model="gpt-4", parent_request_id="r1")
        agent.log_tool_call_completed(intent.id, "search", "t1", {"q": "x"}, {"hits": 2}, duration_ms=12)
        agent.log_tool_call_failed(intent.id, "fetch", "t2", {}, "timeout", duration_ms=30)
        agent.log_llm_request_completed(intent.id, "r1", "openai", "gpt-4", 3, response_content="done",
                                        finish_reason="stop", prompt_tokens=70, completion_tokens=30, total_tokens=100, duration_ms=900)
        agent.log_llm_request_failed(intent.id, "r2", "openai", "gpt-4", 1, "rate limited", duration_ms=5)
        agent.start_stream(intent.id, "s1", "anthropic", "claude")
        agent.log_stream_chunk(intent.id, "s1", 0, token_count=4)
        agent.complete_stream(intent.id, "s1", "anthropic", "claude", chunks_received=1, tokens_streamed=4)
        agent.start_stream(intent.id, "s2", "anthropic", "claude")
        agent.cancel_stream(intent.id, "s2", "anthropic", "claude", reason="user", chunks_received=0)
        events = agent.get_events(intent.id, limit=100)
        types = [event.event_type.value for event in events]
        for expected in ("llm_request_started", "llm_request_completed", "llm_request_failed", "tool_call_started",
                         "tool_call_completed", "tool_call_failed", "stream_started", "stream_chunk",
                         "stream_completed", "stream_cancelled"):
            assert expected in types
        completed = next(e for e in events if e.event_type.value == "llm_request_completed")
        assert completed.payload["total_tokens"] == 100 and completed.actor == "agent-llm"
        summary = requests.get(f"{live_server_url}/api/v1/intents/{intent.id}/costs?summary=true",
                               headers=headers("agent-llm"), timeout=10).json()["summary"]
        assert summary["llm"]["logged"]["total_tokens"] == 100
        assert summary["llm"]["logged"]["requests"] == 1


# --- the race -------------------------------------------------------------------------------------

def race(url: str, racers: int = RACERS) -> tuple[str, list[int]]:
    """``racers`` agents acquire one scope at the same instant; returns the statuses."""
    intent = requests.post(f"{url}/api/v1/intents", json={"title": "race"}, headers=headers("owner"), timeout=10).json()
    sessions = [requests.Session() for _ in range(racers)]
    for n, session in enumerate(sessions):  # warm connections so the start is simultaneous
        session.get(f"{url}/.well-known/openintent.json", timeout=10)
        session.headers.update(headers(f"racer-{n}"))
    barrier = threading.Barrier(racers)
    statuses: list[int] = [0] * racers

    def go(n: int) -> None:
        barrier.wait()
        response = sessions[n].post(f"{url}/api/v1/intents/{intent['id']}/leases",
                                    json={"scope": "the-scope", "duration_seconds": 60}, timeout=60)
        statuses[n] = response.status_code
        if response.status_code == 409:
            assert "existing_lease" in response.json()

    threads = [threading.Thread(target=go, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.close()
    return intent["id"], statuses


def assert_one_winner(url: str, intent_id: str, statuses: list[int]) -> None:
    assert sorted(set(statuses)) == [200, 409], statuses
    assert statuses.count(200) == 1
    leases = requests.get(f"{url}/api/v1/intents/{intent_id}/leases", headers=headers("reader"), timeout=10).json()["leases"]
    assert len(leases) == 1 and leases[0]["status"] == "active"
    assert len(raw_events(url, intent_id, "lease_acquired")) == 1


def test_32_agents_race_for_one_scope_on_sqlite(live_server_url):
    intent_id, statuses = race(live_server_url)
    assert_one_winner(live_server_url, intent_id, statuses)


# --- expiry by the real beat job -------------------------------------------------------------------

def check_expiry_by_beat(url: str) -> None:
    with client(url, "agent-short") as holder, client(url, "agent-next") as successor:
        intent = holder.create_intent("Expiry")
        lease = holder.acquire_lease(intent.id, "scope", duration_seconds=1)
        with pytest.raises(LeaseConflictError):
            successor.acquire_lease(intent.id, "scope")
        time.sleep(1.1)
        # Gone at once, whether or not the job has run yet.
        assert holder.get_leases(intent.id)[0].status == LeaseStatus.EXPIRED
        expired = wait_for(lambda: raw_events(url, intent.id, "lease_released"), timeout=20)
        assert expired, "the beat job never announced the expiry"
        [event] = expired
        assert event["actor"] == "system"
        assert event["payload"] == {"lease_id": lease.id, "scope": "scope", "agent_id": "agent-short", "reason": "expired"}
        taken = successor.acquire_lease(intent.id, "scope", duration_seconds=60)
        assert taken.agent_id == "agent-next"
        time.sleep(3.0)  # several more beat periods: still announced exactly once
        assert len(raw_events(url, intent.id, "lease_released")) == 1
        [old, new] = successor.get_leases(intent.id)
        assert (old.status, new.status) == (LeaseStatus.EXPIRED, LeaseStatus.ACTIVE)


@pytest.fixture(scope="module")
def short_beat_server():
    with LiveServer(web_processes=1, worker=True, beat=True, env=SHORT_BEAT) as server:
        yield server


def test_a_one_second_lease_expires_by_the_beat_job_on_sqlite(short_beat_server):
    check_expiry_by_beat(short_beat_server.url)


@pytest.mark.production
def test_race_and_expiry_on_postgresql(production_database, production_redis_url):
    with LiveServer(web_processes=2, worker=True, beat=True, database_url=production_database.url,
                    redis_url=production_redis_url, env=SHORT_BEAT) as server:
        intent_id, statuses = race(server.url)
        assert_one_winner(server.url, intent_id, statuses)
        check_expiry_by_beat(server.url)
        # The cost summary's JSON reads run on PostgreSQL too.
        with client(server.url, "agent-llm") as agent:
            intent = agent.create_intent("pg llm")
            agent.log_llm_request_completed(intent.id, "r1", "openai", "gpt-4", 1, prompt_tokens=3, completion_tokens=4, total_tokens=7)
            summary = requests.get(f"{server.url}/api/v1/intents/{intent.id}/costs?summary=true",
                                   headers=headers("agent-llm"), timeout=10).json()["summary"]
            assert summary["llm"]["logged"]["total_tokens"] == 7
