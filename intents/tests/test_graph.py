"""RFC-0002: children, descendants, ancestors, dependencies, ready/blocked, graph."""

import pytest


def create(api, **body):
    return api.post("/api/v1/intents", {"title": "t", **body}, format="json").json()


def child(api, parent, **body):
    response = api.post(f"/api/v1/intents/{parent['id']}/children", {"title": "c", **body}, format="json")
    assert response.status_code == 200
    return response.json()


def add_dep(api, intent, dep_id, version):
    return api.post(f"/api/v1/intents/{intent['id']}/dependencies", {"dependency_id": dep_id}, format="json", HTTP_IF_MATCH=str(version))


def test_children_descendants_ancestors_in_order(api):
    root = create(api)
    a, b = child(api, root), child(api, root)
    a1 = child(api, a)
    assert a["parent_intent_id"] == root["id"] == a["parent_id"]
    assert [c["id"] for c in api.get(f"/api/v1/intents/{root['id']}/children").json()["children"]] == [a["id"], b["id"]]
    assert [c["id"] for c in api.get(f"/api/v1/intents/{root['id']}/descendants").json()["descendants"]] == [a["id"], a1["id"], b["id"]]
    assert [c["id"] for c in api.get(f"/api/v1/intents/{a1['id']}/ancestors").json()["ancestors"]] == [a["id"], root["id"]]
    assert api.get(f"/api/v1/intents/{root['id']}").json()["version"] == 1


def test_child_of_unknown_parent_is_404(api):
    response = api.post("/api/v1/intents/nonexistent-id/children", {"title": "c"}, format="json")
    assert response.status_code == 404 and response.json()["detail"] == "Parent intent not found"


def test_dependencies_cycles_and_duplicates(api):
    a, b, c = create(api), create(api), create(api)
    assert add_dep(api, a, b["id"], 1).status_code == 200
    assert add_dep(api, b, c["id"], 1).status_code == 200
    cycle = add_dep(api, c, a["id"], 1)
    assert cycle.status_code == 400 and cycle.json()["detail"] == f"Dependency would create cycle: {c['id']} -> {c['id']}"
    assert add_dep(api, a, a["id"], 2).status_code == 400
    assert add_dep(api, a, b["id"], 2).json()["detail"] == "Dependency already exists"
    assert add_dep(api, a, "nonexistent-id", 2).json()["detail"] == "Dependency intent not found"
    assert add_dep(api, a, c["id"], 1).status_code == 409
    assert [d["id"] for d in api.get(f"/api/v1/intents/{a['id']}/dependencies").json()["dependencies"]] == [b["id"]]
    assert [d["id"] for d in api.get(f"/api/v1/intents/{b['id']}/dependents").json()["dependents"]] == [a["id"]]
    removed = api.delete(f"/api/v1/intents/{a['id']}/dependencies/{b['id']}", HTTP_IF_MATCH="2")
    assert removed.status_code == 200 and removed.json()["depends_on"] == [] and removed.json()["version"] == 3
    assert api.delete(f"/api/v1/intents/{a['id']}/dependencies/{b['id']}").status_code == 400


def test_ready_and_blocked_children(api):
    root = create(api)
    done = create(api, status="completed")
    pending = create(api)
    ready_child = child(api, root, depends_on=[done["id"]])
    free_child = child(api, root)
    blocked_child = child(api, root, depends_on=[pending["id"]])
    missing_child = child(api, root, depends_on=["missing"])
    ready = {i["id"] for i in api.get(f"/api/v1/intents/{root['id']}/ready").json()["ready"]}
    blocked = {i["id"] for i in api.get(f"/api/v1/intents/{root['id']}/blocked").json()["blocked"]}
    assert ready == {ready_child["id"], free_child["id"]}
    assert blocked == {blocked_child["id"], missing_child["id"]}


def test_graph_walks_dependencies_upstream_and_children(api):
    upstream = create(api, status="completed")
    root = create(api, depends_on=[upstream["id"], "missing"])
    kid = child(api, root)
    graph = api.get(f"/api/v1/intents/{root['id']}/graph").json()
    assert [n["id"] for n in graph["nodes"]] == [root["id"], upstream["id"], kid["id"]]
    assert graph["edges"] == [
        {"from": upstream["id"], "to": root["id"], "type": "dependency"},
        {"from": "missing", "to": root["id"], "type": "dependency"},
        {"from": root["id"], "to": kid["id"], "type": "parent"},
    ]
    assert graph["aggregate_status"] == {"total": 3, "by_status": {"draft": 2, "completed": 1}, "completion_percentage": 33}


@pytest.mark.parametrize("route", ["children", "descendants", "ancestors", "dependencies", "dependents", "ready", "blocked", "graph"])
def test_graph_reads_of_unknown_intent_are_404(api, route):
    response = api.get(f"/api/v1/intents/nonexistent-id/{route}")
    assert response.status_code == 404 and response.json()["detail"] == "Intent not found"
