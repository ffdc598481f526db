"""RFC-0015 agent memory over the API and its lifecycle services (protocol 15)."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from agents_registry.models import MemoryEntry
from agents_registry.services_memory import memory_cleanup_sweep, memory_expiry_sweep
from conftest import OPERATOR_KEY, make_client
from intents.models import Event


@pytest.fixture
def alice(db):
    return make_client(agent_id="alice")


def create(client, key="k", agent_id="alice", expect=200, **body):
    response = client.post("/api/v1/memory", {"agent_id": agent_id, "namespace": "ns", "key": key, "value": {"v": key}, **body}, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def test_create_get_update_delete(alice):
    entry = create(alice, tags=["a"], memory_type="episodic", priority="high", sensitivity="internal")
    assert entry["version"] == 1 and entry["memory_type"] == "episodic" and entry["expires_at"] is None
    assert alice.get(f"/api/v1/memory/{entry['id']}").json()["value"] == {"v": "k"}
    assert alice.patch(f"/api/v1/memory/{entry['id']}", {"value": {"v": 2}}, format="json").status_code == 428
    assert alice.patch(f"/api/v1/memory/{entry['id']}", {"value": {"v": 2}}, format="json", HTTP_IF_MATCH="x").status_code == 428
    updated = alice.patch(f"/api/v1/memory/{entry['id']}", {"value": {"v": 2}, "tags": ["b"]}, format="json", HTTP_IF_MATCH="1")
    assert updated.status_code == 200 and updated.json()["version"] == 2 and updated.json()["tags"] == ["b"]
    stale = alice.patch(f"/api/v1/memory/{entry['id']}", {"value": {"v": 3}}, format="json", HTTP_IF_MATCH="1")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert alice.patch("/api/v1/memory/nope", {"value": {}}, format="json", HTTP_IF_MATCH="1").status_code == 404
    assert alice.delete(f"/api/v1/memory/{entry['id']}").json() == {"status": "deleted", "entry_id": entry["id"]}
    assert alice.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert alice.delete(f"/api/v1/memory/{entry['id']}").status_code == 404


@pytest.mark.parametrize("body, status", [
    ({"value": [1]}, 400),
    ({"memory_type": "forever"}, 400),
    ({"priority": "urgent"}, 400),
    ({"ttl": 5}, 400),
    ({"ttl": "soon"}, 400),
    ({"tags": "a"}, 400),
])
def test_bad_values_are_400(alice, body, status):
    response = alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "ns", "key": "k", "value": {}, **body}, format="json")
    assert response.status_code == status, response.content


@pytest.mark.parametrize("ttl, seconds", [("duration:PT24H", 86400), ("PT1M30S", 90), ("10", 10), ("P1D", 86400)])
def test_ttl_sets_expires_at(alice, ttl, seconds):
    before = timezone.now()
    entry = create(alice, ttl=ttl)
    stored = MemoryEntry.objects.get(pk=entry["id"]).expires_at
    assert abs((stored - before).total_seconds() - seconds) < 5


def test_unique_keys_per_scope(alice):
    first = create(alice, key="dup")
    conflict = create(alice, key="dup", expect=409)
    assert conflict["detail"] == "Memory entry already exists" and conflict["entry_id"] == first["id"]
    create(make_client(agent_id="bob"), key="dup", agent_id="bob")  # another agent: fine
    create(alice, key="shared", memory_type="semantic")
    create(make_client(agent_id="bob"), key="shared", agent_id="bob", memory_type="semantic", expect=409)


def test_oversized_value_is_413(alice):
    with override_settings(OPENINTENT_MEMORY_MAX_VALUE_BYTES=100):
        response = alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "n", "key": "k", "value": {"x": "y" * 200}}, format="json")
    assert response.status_code == 413


def test_other_agents_private_memory_is_forbidden(alice):
    entry = create(alice)
    bob = make_client(agent_id="bob")
    assert bob.get(f"/api/v1/memory/{entry['id']}").status_code == 403
    assert create(bob, key="x", agent_id="alice", expect=403)
    assert bob.get("/api/v1/agents/alice/memory").json() == []
    assert make_client(api_key=OPERATOR_KEY, agent_id="ops").get(f"/api/v1/memory/{entry['id']}").status_code == 200


def test_ttl_expiry_hides_then_sweep_deletes_with_event(alice):
    intent = alice.post("/api/v1/intents", {"title": "t"}, format="json").json()
    entry = create(alice, ttl="1", scope={"intent_id": intent["id"]})
    assert alice.get(f"/api/v1/memory/{entry['id']}").status_code == 200
    time.sleep(1.1)
    assert alice.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert alice.get("/api/v1/agents/alice/memory").json() == []
    assert memory_expiry_sweep() == 1
    assert not MemoryEntry.objects.filter(pk=entry["id"]).exists()
    expired = Event.objects.get(intent_id=intent["id"], event_type="memory.expired")
    assert expired.payload["entry_id"] == entry["id"] and expired.actor == "system"
    assert memory_expiry_sweep() == 0


def test_recall_by_tag_is_exact_stable_and_paginated(alice):
    ids = []
    for i in range(7):
        tags = ["red", "big"] if i % 2 == 0 else ["red"]
        ids.append((create(alice, key=f"k{i}", tags=tags)["id"], tags))
    create(alice, key="other", tags=["blue"])
    both = [entry_id for entry_id, tags in reversed(ids) if "big" in tags]
    listed = [e["id"] for e in alice.get("/api/v1/agents/alice/memory?tags=red,big").json()]
    assert listed == both
    pages = [alice.get(f"/api/v1/agents/alice/memory?tags=red&limit=3&offset={o}").json() for o in (0, 3, 6)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e["id"] for p in pages for e in p] == [entry_id for entry_id, _ in reversed(ids)]
    assert {e["key"] for e in alice.get("/api/v1/agents/alice/memory?tags_any=blue,big").json()} == {"other", "k0", "k2", "k4", "k6"}
    assert alice.get("/api/v1/agents/alice/memory?limit=0").status_code == 400


def test_recall_filters_namespace_type_and_text(alice):
    alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "proj.a", "key": "x", "value": {"note": "Hello world"}, "memory_type": "episodic"}, format="json")
    alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "proj.b", "key": "y", "value": {"note": "bye"}}, format="json")
    assert [e["key"] for e in alice.get("/api/v1/agents/alice/memory?namespace=proj.*").json()] == ["y", "x"]
    assert [e["key"] for e in alice.get("/api/v1/agents/alice/memory?namespace=proj.a").json()] == ["x"]
    assert [e["key"] for e in alice.get("/api/v1/agents/alice/memory?memory_type=working").json()] == ["y"]
    assert [e["key"] for e in alice.get("/api/v1/agents/alice/memory?q=hello").json()] == ["x"]


def test_recall_query_count_is_constant(alice, django_assert_max_num_queries):
    for i in range(6):
        create(alice, key=f"k{i}", tags=["t"])
    with django_assert_max_num_queries(2):
        assert len(alice.get("/api/v1/agents/alice/memory?tags=t").json()) == 6


def test_episodic_capacity_evicts_lru_unpinned_then_429(alice):
    with override_settings(OPENINTENT_MEMORY_EPISODIC_CAPACITY=2):
        pinned = create(alice, key="p", memory_type="episodic", pinned=True)
        old = create(alice, key="old", memory_type="episodic")
        create(alice, key="new", memory_type="episodic")
        assert not MemoryEntry.objects.filter(pk=old["id"]).exists()
        assert MemoryEntry.objects.filter(pk=pinned["id"]).exists()
        alice.patch(f"/api/v1/memory/{MemoryEntry.objects.get(key='new').pk}", {"pinned": True}, format="json", HTTP_IF_MATCH="1")
        assert create(alice, key="third", memory_type="episodic", expect=429)


def test_working_memory_archived_when_task_completes(alice):
    intent = alice.post("/api/v1/intents", {"title": "t"}, format="json").json()
    task = alice.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "w", "memory_policy": {"max_entries": 2}}, format="json").json()
    create(alice, key="a", scope={"task_id": task["id"]}, tags=["x"])
    create(alice, key="b", scope={"task_id": task["id"]})
    create(alice, key="c", scope={"task_id": task["id"]}, expect=429)
    keep = create(alice, key="keep", memory_type="episodic", scope={"task_id": task["id"]})
    alice.patch(f"/api/v1/tasks/{task['id']}", {"status": "running"}, format="json", HTTP_IF_MATCH="1")
    alice.patch(f"/api/v1/tasks/{task['id']}", {"status": "completed"}, format="json", HTTP_IF_MATCH="2")
    assert list(MemoryEntry.objects.values_list("pk", flat=True)) == [__import__("uuid").UUID(keep["id"])]
    archived = Event.objects.get(intent_id=intent["id"], event_type="memory.archived")
    assert archived.payload["entries_archived"] == 2 and archived.payload["agent_id"] == "alice"
    assert {s["key"] for s in archived.payload["snapshot"]} == {"a", "b"}
    assert "value" not in archived.payload["snapshot"][0]


def test_cleanup_sweep_removes_memory_of_vanished_tasks(alice):
    create(alice, key="orphan", scope={"task_id": "00000000-0000-0000-0000-000000000000"})
    assert memory_cleanup_sweep() == 1
    assert not MemoryEntry.objects.exists()


def test_expired_key_can_be_reused(alice):
    create(alice, key="k", ttl="1")
    MemoryEntry.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    create(alice, key="k")


def test_semantic_namespace_permissions(alice):
    rules = {"kb.*": {"default": "read", "allow": [{"agent": "alice", "access": "write"}]}, "secret": {"default": "none"}}
    with override_settings(OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS=rules):
        create(alice, key="fact", namespace="kb.facts", memory_type="semantic")
        bob = make_client(agent_id="bob")
        response = bob.post("/api/v1/memory", {"agent_id": "bob", "namespace": "kb.facts", "key": "other", "value": {}, "memory_type": "semantic"}, format="json")
        assert response.status_code == 403
        create(bob, key="free", agent_id="bob", namespace="unruled", memory_type="semantic")
        hidden = create(make_client(api_key=OPERATOR_KEY, agent_id="carol"), key="s", agent_id="carol", namespace="secret", memory_type="semantic")
        assert bob.get(f"/api/v1/memory/{hidden['id']}").status_code == 403
        assert bob.get("/api/v1/agents/carol/memory").json() == []
        fact = MemoryEntry.objects.get(key="fact")
        assert bob.get(f"/api/v1/memory/{fact.pk}").status_code == 200


def test_expires_at_overrides_ttl(alice):
    entry = create(alice, ttl="duration:PT24H", expires_at="2030-01-01T00:00:00")
    assert entry["expires_at"] == "2030-01-01T00:00:00"
    updated = alice.patch(f"/api/v1/memory/{entry['id']}", {"expires_at": "2031-01-01T00:00:00"}, format="json", HTTP_IF_MATCH="1").json()
    assert updated["expires_at"] == "2031-01-01T00:00:00"
    assert alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "n", "key": "z", "value": {}, "expires_at": "soon"}, format="json").status_code == 400
