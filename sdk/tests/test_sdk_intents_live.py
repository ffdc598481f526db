"""Intents, state, status, events, assignment and graphs against the live server (spec 01, 02)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from openintent_sdk import (
    AuthenticationError, Client, ConflictError, Event, Graph, Intent, InvalidArgumentError, NotFoundError,
    ValidationError,
)

from .sdk_testlib import DEV_KEY, unique

pytestmark = pytest.mark.live


def test_discovery(client):
    assert client.discover()["protocol"] == "OpenIntent Coordination Protocol"
    assert "rfcCompliance" in client.compat()
    assert client.server_config()["protocol_version"] == "0.1"
    assert "/api/v1/intents" in client.openapi()["paths"]


def test_create_get_and_typed_fields(client, agent_id):
    intent = client.intents.create("Write the report", description="d", state={"a": 1},
                                   constraints={"deadline": "friday"})
    assert isinstance(intent, Intent)
    assert intent.title == "Write the report" and intent.version == 1 and intent.status == "draft"
    assert intent.created_by == agent_id and intent.state == {"a": 1}
    assert isinstance(intent.created_at, datetime)
    got = client.intents.get(intent.id)
    assert got.id == intent.id and got["title"] == "Write the report" and got.get("nope") is None


def test_list_and_iter_all(client):
    a = client.intents.create(unique("list"), status="active")
    page = client.intents.list(status="active", limit=5)
    assert page.total >= 1 and len(page.intents) <= 5
    assert all(i.status == "active" for i in page.intents)
    assert any(i.id == a.id for i in client.intents.iter_all(status="active", page_size=50))
    assert client.intents.list(limit=1, offset=0).limit == 1


def test_update_state_reads_version_for_you(client, intent):
    updated = client.intents.update_state(intent.id, {"n": 1, "note": "x"})
    assert updated.version == 2 and updated.state == {"n": 1, "note": "x"}
    with pytest.raises(ConflictError) as err:
        client.intents.update_state(intent.id, {"n": 2}, version=1)
    assert err.value.status_code == 409
    assert err.value.current_version in (None, 2)


def test_update_state_retry_on_conflict_with_concurrent_writers(client, intent):
    def bump(i):
        return {"n": i.state.get("n", 0) + 1}

    threads = [threading.Thread(target=client.intents.update_state, args=(intent.id, bump),
                                kwargs={"retry_on_conflict": True, "max_attempts": 20}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = client.intents.get(intent.id)
    assert final.state["n"] == 4 and final.version == 5


def test_patch_state_ops(client, intent):
    out = client.intents.patch_state(intent.id, [
        {"op": "set", "path": "/a/b", "value": 1},
        {"op": "append", "path": "log", "value": "x"},
        {"op": "remove", "path": "n"},
    ])
    assert out.state == {"a": {"b": 1}, "log": ["x"]}
    with pytest.raises(ValidationError):
        client.intents.patch_state(intent.id, [{"op": "set", "path": "a/b/c", "value": 1}, {"op": "set", "path": "a/b/c/d", "value": 2}])
    with pytest.raises(InvalidArgumentError):
        client.intents.patch_state(intent.id, [{"op": "frobnicate", "path": "x"}])


def test_status_complete_and_abandon(client, intent):
    active = client.intents.set_status(intent.id, "active", reason="go")
    assert active.status == "active"
    done = client.intents.complete(intent.id)
    assert done.status == "completed" and done.is_completed
    other = client.intents.create(unique("abandon"))
    assert client.intents.abandon(other.id, reason="not needed").status == "abandoned"


def test_events_log_and_list(client, intent, agent_id):
    ev = client.events.log(intent.id, "comment", {"text": "hello"}, trace_id="t-1")
    assert isinstance(ev, Event) and ev.actor == agent_id and ev.payload == {"text": "hello"}
    assert ev.trace_id == "t-1"
    comments = client.events.list(intent.id, event_type="comment")
    assert [e.id for e in comments] == [ev.id]
    everything = client.events.list(intent.id, limit=10)
    assert {e.event_type for e in everything} >= {"intent_created", "comment"}
    assert client.events.list(intent.id, since=datetime.utcnow() + timedelta(hours=1)) == []
    assert len(client.events.list(intent.id, limit=1, offset=1)) == 1


def test_assignment(client, intent):
    a = client.intents.assign_agent(intent.id, "helper-1", role="reviewer")
    assert a.agent_id == "helper-1" and a.role == "reviewer"
    me = client.intents.assign_agent(intent.id)
    assert me.agent_id == client.agent_id
    assert {x.agent_id for x in client.intents.agents(intent.id)} == {"helper-1", client.agent_id}
    client.intents.unassign_agent(intent.id, "helper-1")
    assert [x.agent_id for x in client.intents.agents(intent.id)] == [client.agent_id]
    with pytest.raises(NotFoundError):
        client.intents.unassign_agent(intent.id, "helper-1")


def test_graph(client):
    parent = client.intents.create(unique("parent"))
    first = client.intents.create_child(parent.id, "first")
    second = client.intents.create_child(parent.id, "second", depends_on=[first.id])
    grandchild = client.intents.create_child(first.id, "grandchild")
    assert second.parent_id == parent.id
    assert [c.id for c in client.intents.children(parent.id)] == [first.id, second.id]
    assert [d.id for d in client.intents.descendants(parent.id)] == [first.id, grandchild.id, second.id]
    assert [a.id for a in client.intents.ancestors(grandchild.id)] == [first.id, parent.id]
    assert [d.id for d in client.intents.dependencies(second.id)] == [first.id]
    assert [d.id for d in client.intents.dependents(first.id)] == [second.id]
    assert [r.id for r in client.intents.ready(parent.id)] == [first.id]
    assert [b.id for b in client.intents.blocked(parent.id)] == [second.id]
    graph = client.intents.graph(parent.id)
    assert isinstance(graph, Graph) and len(graph.nodes) == 4 and graph.edges
    with_dep = client.intents.add_dependency(first.id, grandchild.id)
    assert grandchild.id in with_dep.depends_on
    without = client.intents.remove_dependency(first.id, grandchild.id)
    assert without.depends_on == [] and without.version == with_dep.version + 1
    with pytest.raises(ValidationError):
        client.intents.add_dependency(first.id, second.id)  # cycle: second depends on first


def test_suspension_respond(client, intent):
    client.intents.update_state(intent.id, {"_suspension": {"id": "s-1", "response_type": "confirm"}})
    client.intents.set_status(intent.id, "suspended_awaiting_input")
    out = client.intents.respond(intent.id, "s-1", "yes")
    assert out.resolution == "responded" and out.value == "yes" and out.responded_by == client.agent_id
    assert client.intents.get(intent.id).status == "active"
    with pytest.raises(ConflictError):
        client.intents.respond(intent.id, "s-1", "yes")


def test_errors_from_the_server(client, server_url):
    with pytest.raises(NotFoundError) as err:
        client.intents.get("nonexistent-id")
    assert err.value.detail == "Intent not found"
    with pytest.raises(AuthenticationError):
        Client(server_url, "wrong-key", "x").intents.get("nope")
    # Unknown routes answer the protocol's JSON 404 for every method (not a CSRF 403 page).
    for method in ("GET", "POST", "PATCH", "DELETE"):
        with pytest.raises(NotFoundError) as err:
            client.transport.request(method, "/api/v1/no-such-route/x", json_body={} if method != "GET" else None)
        assert err.value.detail == "Not Found"
    with pytest.raises(ValidationError) as err:
        client.intents.create("x", state={"a": 1}, constraints={}, status=None, governance_policy=[])  # type: ignore[arg-type]
    assert err.value.errors and err.value.status_code == 400


def test_client_side_validation_fails_fast(client):
    for call, words in [
        (lambda: client.intents.create(""), "title must not be empty"),
        (lambda: client.intents.create("   "), "title must not be empty"),
        (lambda: client.intents.create("t", status="flying"), "status must be one of"),
        (lambda: client.intents.set_status("abc", "done"), "status must be one of"),
        (lambda: client.intents.get(""), "intent_id"),
        (lambda: client.intents.update_state("abc", ["not", "a", "dict"]), "patch must be a JSON object"),
        (lambda: client.intents.update_state("abc", {}, version=0), "version must be a positive integer"),
        (lambda: client.leases.acquire("abc", "scope", duration_seconds=-5), "duration_seconds must be positive"),
        (lambda: client.leases.acquire("abc", "", 10), "scope must not be empty"),
        (lambda: client.lease("abc", "scope", duration_seconds=0), "duration_seconds must be positive"),
        (lambda: client.events.log("abc", ""), "event_type must not be empty"),
        (lambda: client.intents.list(limit=5000), "limit"),
    ]:
        with pytest.raises(InvalidArgumentError) as err:
            call()
        assert words in str(err.value), str(err.value)
        assert isinstance(err.value, ValueError)


def test_event_log_is_readable_by_other_agents(server_url, intent):
    other = Client(server_url, DEV_KEY, unique("reader"))
    assert other.intents.get(intent.id).title == intent.title
