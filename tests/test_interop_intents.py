"""The official client (openintent 0.17.0), unchanged, against a live server over real HTTP:
every RFC-0001/0002 method."""

import pytest
from openintent import OpenIntentClient
from openintent.exceptions import ConflictError, NotFoundError, ValidationError
from openintent.models import EventType, IntentStatus

pytestmark = pytest.mark.live


@pytest.fixture
def client(live_server_url):
    client = OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="interop-agent")
    yield client
    client.close()


def test_discover(client):
    assert client.discover()["protocol"] == "OpenIntent Coordination Protocol"


def test_create_get_list(client):
    intent = client.create_intent(title="Research", description="why", constraints={"budget": 5}, initial_state={"step": 1})
    assert intent.version == 1 and intent.status == IntentStatus.DRAFT
    assert intent.created_by == "interop-agent"
    fetched = client.get_intent(intent.id)
    assert fetched.title == "Research" and fetched.state.to_dict() == {"step": 1}
    listed = client.list_intents(limit=500)
    assert intent.id in {i.id for i in listed}
    with pytest.raises(NotFoundError):
        client.get_intent("nonexistent-id")


def test_update_state_set_status_and_conflicts(client):
    intent = client.create_intent(title="State")
    updated = client.update_state(intent.id, intent.version, {"progress": 0.5, "nested": {"a": 1}})
    assert updated.version == 2 and updated.state.to_dict()["nested"] == {"a": 1}
    with pytest.raises(ConflictError) as conflict:
        client.update_state(intent.id, 1, {"progress": 0.9})
    assert conflict.value.current_version == 2
    done = client.set_status(intent.id, updated.version, IntentStatus.COMPLETED, reason="finished")
    assert done.status == IntentStatus.COMPLETED and done.version == 3


def test_events(client):
    intent = client.create_intent(title="Events")
    event = client.log_event(intent.id, EventType.COMMENT, {"text": "hello"})
    assert event.event_type == EventType.COMMENT and event.payload == {"text": "hello"}
    events = client.get_events(intent.id)
    assert [e.event_type for e in events] == [EventType.COMMENT, EventType.INTENT_CREATED]
    only_comments = client.get_events(intent.id, event_type=EventType.COMMENT)
    assert len(only_comments) == 1


def test_assign_and_unassign(client):
    intent = client.create_intent(title="Agents")
    assignment = client.assign_agent(intent.id, "worker-1")
    assert assignment["agent_id"] == "worker-1"
    assert client.assign_agent(intent.id)["agent_id"] == "interop-agent"
    client.unassign_agent(intent.id, "worker-1")
    with pytest.raises(NotFoundError):
        client.unassign_agent(intent.id, "worker-1")


def test_graph_methods(client):
    root = client.create_intent(title="Root")
    upstream = client.create_intent(title="Upstream")
    child = client.create_child_intent(root.id, title="Child", depends_on=[upstream.id])
    other = client.create_child_intent(root.id, title="Other")
    grandchild = client.create_child_intent(child.id, title="Grandchild")
    assert child.parent_intent_id == root.id
    assert [c.id for c in client.get_children(root.id)] == [child.id, other.id]
    assert [d.id for d in client.get_descendants(root.id)] == [child.id, grandchild.id, other.id]
    assert [a.id for a in client.get_ancestors(grandchild.id)] == [child.id, root.id]
    assert [d.id for d in client.get_dependencies(child.id)] == [upstream.id]
    assert [d.id for d in client.get_dependents(upstream.id)] == [child.id]
    assert [i.id for i in client.get_ready_intents(root.id)] == [other.id]
    assert [i.id for i in client.get_blocked_intents(root.id)] == [child.id]
    client.set_status(upstream.id, upstream.version, IntentStatus.COMPLETED)
    assert {i.id for i in client.get_ready_intents(root.id)} == {child.id, other.id}

    extra = client.create_intent(title="Extra")
    with_dep = client.add_dependency(other.id, extra.id, other.version)
    assert with_dep.depends_on == [extra.id] and with_dep.version == other.version + 1
    with pytest.raises(ValidationError):
        client.add_dependency(extra.id, other.id, extra.version)  # would close a cycle
    without = client.remove_dependency(other.id, extra.id, with_dep.version)
    assert without.depends_on == []

    graph = client.get_intent_graph(root.id)
    assert graph["root_id"] == root.id
    assert {n["id"] for n in graph["nodes"]} == {root.id, child.id, grandchild.id, other.id, upstream.id}
    assert graph["aggregate_status"]["total"] == 5
