"""The official client's RFC-0015/0016 methods against a live server, and the health sweep
and memory expiry run for real by Celery beat."""

import time

import pytest
from openintent import OpenIntentClient
from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError, OpenIntentError
from openintent.models import AgentStatus, EventType, MemoryType

from openintent_project.testing import LiveServer

pytestmark = pytest.mark.live


def client(url, agent_id, api_key="dev-user-key"):
    return OpenIntentClient(url, api_key=api_key, agent_id=agent_id)


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def test_agent_lifecycle_methods(live_server_url):
    agent_id = unique("agent")
    c = client(live_server_url, agent_id)
    record = c.register_agent(agent_id, capabilities=["search"], role_id=unique("role"), metadata={"m": 1},
                              heartbeat_config={"interval_seconds": 10})
    assert record.status == AgentStatus.ACTIVE and record.metadata == {"m": 1}
    assert record.heartbeat_config.unhealthy_after_seconds == 30
    with pytest.raises(ConflictError):
        c.register_agent(agent_id)
    fetched = c.get_agent_record(agent_id)
    assert fetched.agent_id == agent_id and fetched.capabilities == ["search"]
    assert [a.agent_id for a in c.list_agents(role_id=record.role_id)] == [agent_id]
    assert agent_id in [a.agent_id for a in c.list_agents(status="active")]
    beat = c.agent_heartbeat(agent_id, current_load=1, tasks_in_progress=["t1"])
    assert beat["status"] == "ok" and beat["agent_status"] == "active"
    drained = c.update_agent_status(agent_id, "draining")
    assert drained["status"] == "draining"
    assert c.update_agent_status(agent_id, "active")["status"] == "active"
    with pytest.raises(NotFoundError):
        c.get_agent_record(unique("ghost"))
    with pytest.raises(OpenIntentError):
        client(live_server_url, "someone-else").update_agent_status(agent_id, "draining")


def test_memory_methods(live_server_url):
    agent_id = unique("mem")
    c = client(live_server_url, agent_id)
    entry = c.create_memory(agent_id, "notes", "k1", {"text": "hello"}, memory_type="episodic", tags=["a", "b"])
    assert entry.version == 1 and entry.memory_type == MemoryType.EPISODIC
    c.create_memory(agent_id, "notes", "k2", {"text": "x"}, tags=["a"])
    assert c.get_memory(entry.id).value == {"text": "hello"}
    updated = c.update_memory(entry.id, 1, value={"text": "bye"})
    assert updated.version == 2
    with pytest.raises(ConflictError):
        c.update_memory(entry.id, 1, value={"text": "stale"})
    assert [e.key for e in c.list_memory(agent_id, tags=["a", "b"])] == ["k1"]
    assert [e.key for e in c.list_memory(agent_id, tags=["a"])] == ["k1", "k2"]
    assert [e.key for e in c.list_memory(agent_id, tags=["a"], limit=1, offset=1)] == ["k2"]
    assert [e.key for e in c.list_memory(agent_id, memory_type="working")] == ["k2"]
    c.delete_memory(entry.id)
    with pytest.raises(NotFoundError):
        c.get_memory(entry.id)


def test_memory_with_one_second_ttl_is_gone(live_server_url):
    agent_id = unique("ttl")
    c = client(live_server_url, agent_id)
    entry = c.create_memory(agent_id, "scratch", "short", {"v": 1}, ttl="1")
    assert entry.expires_at is not None
    assert c.get_memory(entry.id).key == "short"
    time.sleep(1.3)
    with pytest.raises(NotFoundError):
        c.get_memory(entry.id)
    assert c.list_memory(agent_id) == []


def test_beat_marks_silent_agent_unhealthy_then_dead_and_expires_memory():
    env = {
        "OPENINTENT_AGENT_SWEEP_SECONDS": "1",
        "OPENINTENT_HEARTBEAT_INTERVAL_SECONDS": "1",
        "OPENINTENT_MEMORY_EXPIRY_SECONDS": "1",
        "OPENINTENT_TASK_TIMEOUT_SWEEP_SECONDS": "1",
    }
    with LiveServer(web_processes=1, worker=True, beat=True, env=env) as server:
        c = client(server.url, "silent")
        record = c.register_agent("silent")
        assert record.heartbeat_config.interval_seconds == 1
        intent = c.create_intent("watched")
        c.assign_agent(intent.id, "silent")
        task = c.create_task(intent.id, "work")
        c.update_task(task.id, 1, status="running")
        entry = c.create_memory("silent", "tmp", "k", {"v": 1}, ttl="1", scope={"intent_id": intent.id})
        # The silent agent holds a scope for a minute; another agent cannot take it meanwhile.
        c.acquire_lease(intent.id, "draft", duration_seconds=60)
        other = client(server.url, "standby")
        with pytest.raises(LeaseConflictError):
            other.acquire_lease(intent.id, "draft", duration_seconds=60)
        seen = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            status = c.get_agent_record("silent").status.value
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "dead":
                break
            time.sleep(0.3)
        assert seen == ["active", "unhealthy", "dead"], (seen, server.log())
        events = [e.event_type.value if hasattr(e.event_type, "value") else e.event_type for e in c.get_events(intent.id)]
        assert "agent.dead" in events
        after = c.get_task(task.id)
        assert after.status.value == "ready" and after.attempt == 2
        # Death released the lease (16 §4): the standby agent takes the scope long before the
        # minute is up.
        taken = other.acquire_lease(intent.id, "draft", duration_seconds=60)
        assert taken.agent_id == "standby"
        released = [e for e in c.get_events(intent.id, event_type=EventType.LEASE_RELEASED)]
        assert released and released[0].payload["agent_id"] == "silent"
        deadline = time.monotonic() + 15
        while "memory.expired" not in events and time.monotonic() < deadline:
            time.sleep(0.5)
            events = [e.event_type.value if hasattr(e.event_type, "value") else e.event_type for e in c.get_events(intent.id)]
        assert "memory.expired" in events, server.log()
        with pytest.raises(NotFoundError):
            c.get_memory(entry.id)
        with pytest.raises(OpenIntentError):
            c.agent_heartbeat("silent")  # 410: it must register again
        assert c.register_agent("silent").status == AgentStatus.ACTIVE
