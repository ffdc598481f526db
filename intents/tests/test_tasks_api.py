"""RFC-0012 tasks and plans over the API (protocol 12)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from intents.models import Event, Task
from intents.services.tasks import task_timeout_sweep


@pytest.fixture
def intent(api):
    return api.post("/api/v1/intents", {"title": "Plan work"}, format="json").json()


def new_task(api, intent, name, expect=200, **body):
    response = api.post("/api/v1/tasks", {"intent_id": intent["id"], "name": name, **body}, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def patch(api, task, expect=200, version=None, **body):
    version = version if version is not None else api.get(f"/api/v1/tasks/{task['id']}").json()["version"]
    response = api.patch(f"/api/v1/tasks/{task['id']}", body, format="json", HTTP_IF_MATCH=str(version))
    assert response.status_code == expect, response.content
    return response.json()


def get(api, task):
    return api.get(f"/api/v1/tasks/{task['id']}").json()


def types(intent):
    return list(Event.objects.filter(intent_id=intent["id"]).order_by("sequence").values_list("event_type", flat=True))


def test_create_defaults_and_both_metadata_keys(api, intent):
    task = new_task(api, intent, "a", metadata={"m": 1}, requires_tools=[{"service": "s"}])
    assert task["status"] == "pending" and task["version"] == 1 and task["attempt"] == 1 and task["max_attempts"] == 3
    assert task["metadata"] == task["task_metadata"] == {"m": 1}
    assert task["requires_tools"] == [{"service": "s", "scopes": [], "required": True}]
    assert "task.created" in types(intent)


@pytest.mark.parametrize("body", [{"depends_on": ["nope"]}, {"parent_task_id": "nope"}, {"requires_tools": [{"scopes": []}]}, {"input": []}])
def test_create_rejects_bad_references_and_shapes(api, intent, body):
    new_task(api, intent, "a", expect=400, **body)


def test_unknown_intent_is_404_and_foreign_dependency_is_400(api, intent):
    assert api.post("/api/v1/tasks", {"intent_id": "nope", "name": "x"}, format="json").status_code == 404
    other = api.post("/api/v1/intents", {"title": "other"}, format="json").json()
    foreign = new_task(api, other, "f")
    new_task(api, intent, "a", expect=400, depends_on=[foreign["id"]])


def test_blocks_is_maintained_without_version_change(api, intent):
    a = new_task(api, intent, "a")
    b = new_task(api, intent, "b", depends_on=[a["id"]])
    a_now = get(api, a)
    assert a_now["blocks"] == [b["id"]] and a_now["version"] == 1


def test_patch_rules(api, intent):
    a = new_task(api, intent, "a")
    b = new_task(api, intent, "b", depends_on=[a["id"]])
    assert api.patch(f"/api/v1/tasks/{a['id']}", {"status": "running"}, format="json").status_code == 428
    assert api.patch("/api/v1/tasks/nope", {"status": "running"}, format="json", HTTP_IF_MATCH="1").status_code == 404
    patch(api, a, expect=400, status="flying")
    conflict = patch(api, a, expect=409, version=7, status="running")
    assert conflict["current_version"] == 1
    unmet = patch(api, b, expect=409, status="claimed")
    assert unmet["detail"] == "Task dependencies not completed" and unmet["unmet_dependencies"] == [a["id"]]
    patch(api, a, expect=409, status="completed")  # pending -> completed is not a transition
    started = patch(api, a, status="running", assigned_agent="worker-1")
    assert started["version"] == 2 and started["started_at"] and started["assigned_agent"] == "worker-1"
    assert patch(api, a, output={"partial": True})["version"] == 3  # field-only update
    done = patch(api, a, status="completed", output={"ok": True})
    assert done["completed_at"] and done["output"] == {"ok": True}
    assert get(api, b)["status"] == "ready"
    assert patch(api, a, expect=409, status="running")["detail"] == "Invalid task transition 'completed' -> 'running'"


def test_block_unblock_and_cancel(api, intent):
    a = new_task(api, intent, "a")
    patch(api, a, status="running")
    assert patch(api, a, status="blocked", blocked_reason="waiting")["blocked_reason"] == "waiting"
    assert patch(api, a, status="running")["blocked_reason"] is None
    patch(api, a, status="cancelled")
    assert [t for t in types(intent) if t.startswith("task.") and t != "task.created"] == [
        "task.started", "task.blocked", "task.unblocked", "task.cancelled"]


def test_list_tasks_ordered_and_filtered(api, intent, django_assert_max_num_queries):
    ids = [new_task(api, intent, f"t{i}")["id"] for i in range(4)]
    patch(api, {"id": ids[1]}, status="running")
    with django_assert_max_num_queries(3):
        listed = api.get(f"/api/v1/intents/{intent['id']}/tasks").json()
    assert [t["id"] for t in listed] == ids
    assert [t["id"] for t in api.get(f"/api/v1/intents/{intent['id']}/tasks?status=running").json()] == [ids[1]]
    assert [t["id"] for t in api.get(f"/api/v1/intents/{intent['id']}/tasks?limit=2&offset=2").json()] == ids[2:]
    assert api.get("/api/v1/intents/nope/tasks").json() == []
    assert api.get(f"/api/v1/intents/{intent['id']}/tasks?status=flying").status_code == 400


def plan(api, intent, tasks, **body):
    response = api.post("/api/v1/plans", {"intent_id": intent["id"], "tasks": tasks, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def plan_patch(api, p, expect=200, **body):
    version = api.get(f"/api/v1/plans/{p['id']}").json()["version"]
    response = api.patch(f"/api/v1/plans/{p['id']}", body, format="json", HTTP_IF_MATCH=str(version))
    assert response.status_code == expect, response.content
    return response.json()


def test_three_task_plan_runs_to_completion_in_order(api, intent):
    a = new_task(api, intent, "a")
    b = new_task(api, intent, "b", depends_on=[a["id"]])
    c = new_task(api, intent, "c", depends_on=[b["id"]])
    p = plan(api, intent, [a["id"], b["id"], c["id"]], on_failure="fail")
    assert p["state"] == "draft" and p["metadata"] == p["plan_metadata"] == {}
    assert plan_patch(api, p, state="active")["state"] == "active"
    for current, following in ((a, b), (b, c), (c, None)):
        patch(api, current, status="running")
        if following:
            assert get(api, following)["status"] == "pending"
        patch(api, current, status="completed")
        if following:
            assert get(api, following)["status"] == "ready"
    final = api.get(f"/api/v1/plans/{p['id']}").json()
    assert final["state"] == "completed"
    log = types(intent)
    assert [e for e in log if e in ("task.ready", "plan.completed")] == ["task.ready", "task.ready", "plan.completed"]
    done = Event.objects.get(intent_id=intent["id"], event_type="plan.completed").payload
    assert done["tasks_completed"] == 3 and done["tasks_skipped"] == 0
    assert plan_patch(api, final, expect=409, state="active")["detail"].startswith("Invalid plan transition")


def test_plan_retry_policy_then_pause_when_attempts_run_out(api, intent):
    a = new_task(api, intent, "a", max_attempts=2)
    p = plan(api, intent, [a["id"]], on_failure="retry")
    plan_patch(api, p, state="active")
    patch(api, a, status="running")
    retried = patch(api, a, status="failed", error="boom")
    assert retried["status"] == "ready" and retried["attempt"] == 2
    patch(api, a, status="running")
    failed = patch(api, a, status="failed", error="boom again")
    assert failed["status"] == "failed" and failed["attempt"] == 2
    assert api.get(f"/api/v1/plans/{p['id']}").json()["state"] == "paused"
    payloads = [e.payload for e in Event.objects.filter(intent_id=intent["id"], event_type="task.failed").order_by("sequence")]
    assert [pl["will_retry"] for pl in payloads] == [True, False]
    patch(api, a, expect=409, status="ready")  # final: attempts exhausted


def test_timeout_retries_then_fails_the_plan(api, intent):
    a = new_task(api, intent, "a", max_attempts=2, timeout_seconds=5)
    p = plan(api, intent, [a["id"]], on_failure="fail")
    plan_patch(api, p, state="active")
    patch(api, a, status="running")
    later = timezone.now() + timedelta(seconds=6)
    assert task_timeout_sweep(now=later) == 1
    assert get(api, a)["status"] == "ready" and get(api, a)["attempt"] == 2
    patch(api, a, status="running")
    assert task_timeout_sweep(now=later + timedelta(seconds=6)) == 1
    assert get(api, a)["status"] == "failed" and get(api, a)["error"] == "timeout"
    plan_now = api.get(f"/api/v1/plans/{p['id']}").json()
    assert plan_now["state"] == "failed"
    failed = Event.objects.get(intent_id=intent["id"], event_type="plan.failed").payload
    assert failed == {"plan_id": p["id"], "failed_task_id": a["id"], "error": "timeout"}


def test_client_failure_with_fail_policy_fails_the_plan_and_manual_retry_is_allowed_before(api, intent):
    a = new_task(api, intent, "a")
    p = plan(api, intent, [a["id"]], on_failure="notify")
    plan_patch(api, p, state="active")
    patch(api, a, status="running")
    assert patch(api, a, status="failed", error="x")["status"] == "failed"
    assert api.get(f"/api/v1/plans/{p['id']}").json()["state"] == "active"  # notify: nothing more
    assert patch(api, a, status="ready")["attempt"] == 2


def test_checkpoint_pauses_then_approval_resumes(api, intent):
    a = new_task(api, intent, "a")
    b = new_task(api, intent, "b", depends_on=[a["id"]])
    p = plan(api, intent, [a["id"], b["id"]], checkpoints=[{"id": "cp1", "name": "review", "after_task": a["id"]}])
    plan_patch(api, p, state="active")
    patch(api, a, status="running")
    patch(api, a, status="completed")
    paused = api.get(f"/api/v1/plans/{p['id']}").json()
    assert paused["state"] == "paused" and paused["checkpoints"][0]["status"] == "waiting"
    checkpoints = [{**paused["checkpoints"][0], "status": "approved"}]
    resumed = plan_patch(api, paused, checkpoints=checkpoints)
    assert resumed["state"] == "active" and resumed["checkpoints"][0]["approved_by"] == "agent-owner"
    assert resumed["version"] == paused["version"] + 1
    assert "plan.checkpoint_approved" in types(intent)


def test_plan_validation(api, intent):
    assert api.post("/api/v1/plans", {"intent_id": intent["id"], "tasks": ["nope"]}, format="json").status_code == 400
    assert api.post("/api/v1/plans", {"intent_id": intent["id"], "on_failure": "panic"}, format="json").status_code == 400
    assert api.post("/api/v1/plans", {"intent_id": "nope"}, format="json").status_code == 404
    p = plan(api, intent, [])
    assert api.patch(f"/api/v1/plans/{p['id']}", {"state": "active"}, format="json").status_code == 428
    plan_patch(api, p, expect=400, state="flying")
    assert api.patch("/api/v1/plans/nope", {}, format="json", HTTP_IF_MATCH="1").status_code == 404
    assert api.get(f"/api/v1/intents/{intent['id']}/plans").json()[0]["id"] == p["id"]
    assert api.get("/api/v1/plans/nope").status_code == 404


def test_acl_hook_is_called_for_task_writes(api, intent, monkeypatch):
    from intents import access
    from openintent_project.errors import Forbidden

    def deny(principal, intent_obj, required):
        if principal.id == "intruder":
            raise Forbidden({"error": "forbidden"})

    monkeypatch.setattr(access, "_access_evaluator", deny)
    intruder = make_client(agent_id="intruder")
    assert intruder.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "x"}, format="json").status_code == 403
    task = new_task(api, intent, "mine")
    assert intruder.patch(f"/api/v1/tasks/{task['id']}", {"status": "running"}, format="json", HTTP_IF_MATCH="1").status_code == 403
    assert Task.objects.get(pk=task["id"]).status == "pending"
    assert intruder.get(f"/api/v1/tasks/{task['id']}").status_code == 403
    assert intruder.get(f"/api/v1/intents/{intent['id']}/tasks").status_code == 403
    assert intruder.get(f"/api/v1/intents/{intent['id']}/plans").status_code == 403
    p = plan(api, intent, [task["id"]])
    assert intruder.get(f"/api/v1/plans/{p['id']}").status_code == 403
    assert intruder.patch(f"/api/v1/plans/{p['id']}", {"state": "active"}, format="json", HTTP_IF_MATCH="1").status_code == 403


@pytest.mark.parametrize("on_timeout, state, status", [
    ("auto_approve", "completed", "approved"),
    ("fail", "failed", "rejected"),
    ("escalate", "paused", "escalated"),
])
def test_checkpoint_timeout_applies_on_timeout(api, intent, on_timeout, state, status):
    from intents.services.tasks import checkpoint_timeout_sweep

    a = new_task(api, intent, "a")
    p = plan(api, intent, [a["id"]], checkpoints=[{"id": "cp", "name": "gate", "after_task": a["id"], "timeout_hours": 1, "on_timeout": on_timeout}])
    plan_patch(api, p, state="active")
    patch(api, a, status="running")
    patch(api, a, status="completed")
    before = api.get(f"/api/v1/plans/{p['id']}").json()
    assert before["state"] == "paused"
    assert checkpoint_timeout_sweep() == 0
    assert checkpoint_timeout_sweep(now=timezone.now() + timedelta(hours=2)) == 1
    after = api.get(f"/api/v1/plans/{p['id']}").json()
    assert after["state"] == state and after["checkpoints"][0]["status"] == status
    assert after["version"] > before["version"]
    assert checkpoint_timeout_sweep(now=timezone.now() + timedelta(hours=2)) == 0


def test_every_stored_event_type_parses_in_the_official_client(api, intent):
    from openintent.models import EventType

    a = new_task(api, intent, "a")
    p = plan(api, intent, [a["id"]])
    plan_patch(api, p, state="active")
    plan_patch(api, p, state="cancelled")
    patch(api, a, status="cancelled")
    for event_type in types(intent):
        EventType(event_type)


@pytest.mark.parametrize("body", [
    {"memory_policy": {"max_entries": "5"}},
    {"memory_policy": {"archive_on_completion": "yes"}},
])
def test_memory_policy_values_are_checked(api, intent, body):
    new_task(api, intent, "a", expect=400, **body)


@pytest.mark.parametrize("checkpoint", [
    {"id": 1}, {"approvers": "alice"}, {"timeout_hours": "soon"}, {"on_timeout": "panic"}, {"requires_approval": "no"},
])
def test_checkpoint_values_are_checked(api, intent, checkpoint):
    response = api.post("/api/v1/plans", {"intent_id": intent["id"], "checkpoints": [checkpoint]}, format="json")
    assert response.status_code == 400, response.content


def test_running_tasks_block_while_the_intent_is_suspended(api, intent):
    a = new_task(api, intent, "a")
    patch(api, a, status="running")
    version = api.get(f"/api/v1/intents/{intent['id']}").json()["version"]
    response = api.post(f"/api/v1/intents/{intent['id']}/status", {"status": "suspended_awaiting_input"}, format="json", HTTP_IF_MATCH=str(version))
    assert response.status_code == 200, response.content
    blocked = get(api, a)
    assert blocked["status"] == "blocked" and blocked["blocked_reason"] == "intent_suspended"
    response = api.post(f"/api/v1/intents/{intent['id']}/status", {"status": "active"}, format="json", HTTP_IF_MATCH=str(version + 1))
    assert response.status_code == 200, response.content
    assert get(api, a)["status"] == "running"
