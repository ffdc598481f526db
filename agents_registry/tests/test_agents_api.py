"""RFC-0016 agent lifecycle over the API and the health sweep service (protocol 16)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents_registry.models import AgentRecord, SweepState
from agents_registry.services import agent_health_sweep, agent_may_take_work
from conftest import OPERATOR_KEY, make_client
from intents.models import Event


def register(client, agent_id, **body):
    return client.post("/api/v1/agents/register", {"agent_id": agent_id, **body}, format="json")


@pytest.fixture
def alice(db):
    return make_client(agent_id="alice")


def test_register_returns_active_record_with_defaults(alice):
    response = register(alice, "alice", capabilities=["search"], metadata={"a": 1})
    assert response.status_code == 200, response.content
    record = response.json()
    assert record["status"] == "active" and record["version"] == 1
    assert record["heartbeat_config"] == {"interval_seconds": 30, "unhealthy_after_seconds": 90, "dead_after_seconds": 300}
    assert record["metadata"] == record["agent_metadata"] == {"a": 1}
    assert record["last_heartbeat_at"] == record["registered_at"]


def test_reregistering_a_live_agent_is_409_never_500(alice):
    assert register(alice, "alice").status_code == 200
    response = register(alice, "alice")
    assert response.status_code == 409
    assert response.json()["detail"] == "Agent already registered and alive"


def test_reregistering_a_dead_agent_reactivates_it_in_place(alice):
    register(alice, "alice")
    AgentRecord.objects.filter(pk="alice").update(status="dead", version=4)
    record = register(alice, "alice", name="again").json()
    assert record["status"] == "active" and record["version"] == 5 and record["name"] == "again"


def test_agent_acts_only_for_itself_unless_operator(db):
    bob = make_client(agent_id="bob")
    response = register(bob, "alice")
    assert response.status_code == 403
    assert response.json()["detail"] == "Principal may not act for agent 'alice'"
    operator = make_client(api_key=OPERATOR_KEY, agent_id="ops")
    assert register(operator, "alice").status_code == 200
    assert bob.post("/api/v1/agents/alice/heartbeat", {}, format="json").status_code == 403
    assert bob.patch("/api/v1/agents/alice/status", {"status": "draining"}, format="json").status_code == 403


@pytest.mark.parametrize("config", [
    {"interval_seconds": 10, "unhealthy_after_seconds": 15},
    {"interval_seconds": 10, "unhealthy_after_seconds": 20, "dead_after_seconds": 30},
    {"interval_seconds": "x"},
])
def test_heartbeat_config_rules_are_400(alice, config):
    assert register(alice, "alice", heartbeat_config=config).status_code == 400


def test_record_list_and_filters(db):
    for agent_id, role, caps in [("a1", "pool", ["x"]), ("a2", "pool", ["y"]), ("a3", None, ["x", "y"])]:
        register(make_client(agent_id=agent_id), agent_id, role_id=role, capabilities=caps,
                 capacity={"max_concurrent_tasks": 4, "current_load": 0, "tasks_in_progress": []})
    api = make_client(agent_id="a1")
    assert api.get("/api/v1/agents/a2/record").json()["agent_id"] == "a2"
    assert api.get("/api/v1/agents/nope/record").status_code == 404
    assert [a["agent_id"] for a in api.get("/api/v1/agents?role_id=pool").json()] == ["a1", "a2"]
    assert [a["agent_id"] for a in api.get("/api/v1/agents?capabilities=y").json()] == ["a2", "a3"]
    api.patch("/api/v1/agents/a1/status", {"status": "draining"}, format="json")
    assert [a["agent_id"] for a in api.get("/api/v1/agents?capabilities=x").json()] == ["a3"]
    assert [a["agent_id"] for a in api.get("/api/v1/agents?status=draining").json()] == ["a1"]
    assert [a["agent_id"] for a in api.get("/api/v1/agents?status=draining,active").json()] == ["a1", "a2", "a3"]


def test_list_agents_query_count_is_constant(db, django_assert_max_num_queries):
    for i in range(5):
        register(make_client(agent_id=f"q{i}"), f"q{i}")
    with django_assert_max_num_queries(3):
        assert len(make_client(agent_id="q0").get("/api/v1/agents").json()) == 5


def test_heartbeat_shape_and_empty_body(alice):
    register(alice, "alice", heartbeat_config={"interval_seconds": 10})
    response = alice.post("/api/v1/agents/alice/heartbeat", content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["acknowledged"] is True and body["agent_status"] == "active"
    assert body["pending_commands"] == []
    record = alice.post("/api/v1/agents/alice/heartbeat", {"current_load": 2, "tasks_in_progress": ["t"]}, format="json")
    assert AgentRecord.objects.get(pk="alice").capacity["current_load"] == 2
    assert record.status_code == 200
    assert alice.post("/api/v1/agents/ghost/heartbeat", {}, format="json").status_code == 403
    assert make_client(agent_id="ghost").post("/api/v1/agents/ghost/heartbeat", {}, format="json").status_code == 404


def test_heartbeat_from_dead_agent_is_410(alice):
    register(alice, "alice")
    AgentRecord.objects.filter(pk="alice").update(status="dead")
    assert alice.post("/api/v1/agents/alice/heartbeat", {}, format="json").status_code == 410


def test_status_changes_and_drain_command(db):
    alice = make_client(agent_id="alice")
    register(alice, "alice")
    operator = make_client(api_key=OPERATOR_KEY, agent_id="ops")
    assert alice.patch("/api/v1/agents/alice/status", {"status": "flying"}, format="json").status_code == 400
    assert alice.patch("/api/v1/agents/alice/status", {"status": "dead"}, format="json").status_code == 409
    record = operator.patch("/api/v1/agents/alice/status", {"status": "draining", "reason": "maintenance"}, format="json").json()
    assert record["status"] == "draining" and record["version"] == 2 and record["drain_timeout_seconds"] == 120
    assert not agent_may_take_work("alice")
    commands = alice.post("/api/v1/agents/alice/heartbeat", {"status": "active"}, format="json").json()["pending_commands"]
    assert commands == [{"command": "drain", "reason": "maintenance", "drain_timeout_seconds": 120}]
    assert alice.post("/api/v1/agents/alice/heartbeat", {}, format="json").json()["pending_commands"] == []
    stale = alice.patch("/api/v1/agents/alice/status", {"status": "active"}, format="json", HTTP_IF_MATCH="1")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert alice.patch("/api/v1/agents/alice/status", {"status": "active"}, format="json").json()["status"] == "active"
    assert agent_may_take_work("alice")
    assert alice.patch("/api/v1/agents/alice/status", {"status": "deregistered"}, format="json").json()["status"] == "deregistered"
    assert alice.patch("/api/v1/agents/alice/status", {"status": "active"}, format="json").status_code == 409


def test_sweep_marks_unhealthy_then_dead_and_hands_tasks_back(db):
    owner = make_client(agent_id="alice")
    register(owner, "alice", heartbeat_config={"interval_seconds": 1})
    intent = owner.post("/api/v1/intents", {"title": "t"}, format="json").json()
    owner.post(f"/api/v1/intents/{intent['id']}/agents", {"agent_id": "alice"}, format="json")
    task = owner.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "work"}, format="json").json()
    owner.patch(f"/api/v1/tasks/{task['id']}", {"status": "running"}, format="json", HTTP_IF_MATCH="1")
    start = timezone.now()
    # the sweep has been running for a while (no recent resumption after downtime)
    SweepState.objects.create(pk=1, last_run_at=start, resumed_at=start - timedelta(hours=1))
    AgentRecord.objects.filter(pk="alice").update(last_heartbeat_at=start - timedelta(seconds=5))
    assert agent_health_sweep(now=start + timedelta(seconds=1))["unhealthy"] == 1
    assert AgentRecord.objects.get(pk="alice").status == "unhealthy"
    # a heartbeat brings it back
    owner.post("/api/v1/agents/alice/heartbeat", {}, format="json")
    assert AgentRecord.objects.get(pk="alice").status == "active"
    AgentRecord.objects.filter(pk="alice").update(last_heartbeat_at=start - timedelta(seconds=20))
    counts = agent_health_sweep(now=start + timedelta(seconds=2))
    assert counts["dead"] == 1
    assert AgentRecord.objects.get(pk="alice").status == "dead"
    task_after = owner.get(f"/api/v1/tasks/{task['id']}").json()
    assert task_after["status"] == "ready" and task_after["attempt"] == 2 and task_after["assigned_agent"] is None
    types = list(Event.objects.filter(intent_id=intent["id"]).values_list("event_type", flat=True))
    for expected in ("agent.lifecycle", "agent.status_changed", "agent.dead", "task.failed", "task.retrying"):
        assert expected in types
    failed = Event.objects.get(intent_id=intent["id"], event_type="task.failed")
    assert failed.payload["error"] == "agent_dead" and failed.payload["will_retry"] is True
    dead = Event.objects.get(intent_id=intent["id"], event_type="agent.dead")
    assert dead.actor == "system" and dead.payload["agent_id"] == "alice"


def test_sweep_after_downtime_measures_from_resumption(db):
    alice = make_client(agent_id="alice")
    register(alice, "alice", heartbeat_config={"interval_seconds": 1})
    AgentRecord.objects.filter(pk="alice").update(last_heartbeat_at=timezone.now() - timedelta(hours=1))
    agent_health_sweep()  # first run after "downtime": silence counts from now
    assert AgentRecord.objects.get(pk="alice").status == "active"


def test_draining_agent_without_work_is_deregistered_and_refused_tasks(db):
    alice = make_client(agent_id="alice")
    register(alice, "alice")
    intent = alice.post("/api/v1/intents", {"title": "t"}, format="json").json()
    task = alice.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "w"}, format="json").json()
    alice.patch("/api/v1/agents/alice/status", {"status": "draining"}, format="json")
    refused = alice.patch(f"/api/v1/tasks/{task['id']}", {"status": "claimed"}, format="json", HTTP_IF_MATCH="1")
    assert refused.status_code == 409 and "draining" in refused.json()["detail"]
    agent_health_sweep()
    assert AgentRecord.objects.get(pk="alice").status == "deregistered"


def test_capacity_values_are_checked(alice):
    assert register(alice, "alice", capacity={"max_concurrent_tasks": "many"}).status_code == 400
    assert register(alice, "alice", capacity={"max_concurrent_tasks": 3, "current_load": 1}).status_code == 200


def test_death_calls_lease_release_and_coordinator_failover(db, monkeypatch):
    import sys
    import types

    calls = []
    leases = types.ModuleType("intents.services.leases")
    leases.lease_release_all_for_agent = lambda *, agent_id, reason: calls.append(("leases", agent_id, reason)) or 2
    monkeypatch.setitem(sys.modules, "intents.services.leases", leases)
    governance = types.ModuleType("governance.services")
    governance.coordinator_failover_for_agent = lambda *, agent_id: calls.append(("coordinator", agent_id)) or 1
    monkeypatch.setitem(sys.modules, "governance.services", governance)
    alice = make_client(agent_id="alice")
    register(alice, "alice", heartbeat_config={"interval_seconds": 1})
    now = timezone.now()
    SweepState.objects.create(pk=1, last_run_at=now, resumed_at=now - timedelta(hours=1))
    AgentRecord.objects.filter(pk="alice").update(status="unhealthy", last_heartbeat_at=now - timedelta(seconds=60))
    assert agent_health_sweep(now=now + timedelta(seconds=1))["dead"] == 1
    assert calls == [("leases", "alice", "agent_dead"), ("coordinator", "alice")]


def test_heartbeat_can_start_a_drain_and_deregistration_hands_tasks_back(db):
    alice = make_client(agent_id="alice")
    register(alice, "alice")
    body = alice.post("/api/v1/agents/alice/heartbeat", {"status": "draining"}, format="json").json()
    assert body["agent_status"] == "draining" and body["pending_commands"] == []
    intent = alice.post("/api/v1/intents", {"title": "t"}, format="json").json()
    alice.patch("/api/v1/agents/alice/status", {"status": "active"}, format="json")
    task = alice.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "w"}, format="json").json()
    alice.patch(f"/api/v1/tasks/{task['id']}", {"status": "running"}, format="json", HTTP_IF_MATCH="1")
    alice.patch("/api/v1/agents/alice/status", {"status": "deregistered"}, format="json")
    after = alice.get(f"/api/v1/tasks/{task['id']}").json()
    assert after["status"] == "ready" and after["attempt"] == 2
    lifecycle = [e.payload["reason"] for e in Event.objects.filter(intent_id=intent["id"], event_type="agent.lifecycle")]
    assert lifecycle == ["deregistered"]
