"""Operator pages: agent health, memory per agent, tasks and plans with dependencies."""

from conftest import make_client
from agents_registry.models import AgentRecord


def test_agents_page_shows_health_and_drain_action_works(admin_client, db):
    alice = make_client(agent_id="alice")
    alice.post("/api/v1/agents/register", {"agent_id": "alice"}, format="json")
    alice.post("/api/v1/memory", {"agent_id": "alice", "namespace": "n", "key": "remember-me", "value": {}}, format="json")
    page = admin_client.get("/admin/agents_registry/agentrecord/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice" in html and "active" in html and "Leases held" in html and "Silence" in html
    response = admin_client.post("/admin/agents_registry/agentrecord/", {"action": "drain", "_selected_action": ["alice"]})
    assert response.status_code == 302
    assert AgentRecord.objects.get(pk="alice").status == "draining"
    assert admin_client.get("/admin/agents_registry/agentrecord/alice/change/").status_code == 200
    memory = admin_client.get("/admin/agents_registry/memoryentry/?agent_id=alice")
    assert memory.status_code == 200 and "remember-me" in memory.content.decode()


def test_task_and_plan_pages_show_dependencies(admin_client, db):
    api = make_client(agent_id="alice")
    intent = api.post("/api/v1/intents", {"title": "t"}, format="json").json()
    a = api.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "first-step"}, format="json").json()
    b = api.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "second-step", "depends_on": [a["id"]]}, format="json").json()
    plan = api.post("/api/v1/plans", {"intent_id": intent["id"], "tasks": [a["id"], b["id"]]}, format="json").json()
    assert admin_client.get("/admin/intents/task/").status_code == 200
    page = admin_client.get(f"/admin/intents/task/{b['id']}/change/").content.decode()
    assert "first-step" in page
    plan_page = admin_client.get(f"/admin/intents/plan/{plan['id']}/change/")
    assert plan_page.status_code == 200 and "second-step" in plan_page.content.decode()
    assert admin_client.get("/admin/intents/plan/").status_code == 200
