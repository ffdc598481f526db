"""The official client's RFC-0012 methods against the shared live server."""

import pytest
from openintent import OpenIntentClient
from openintent.exceptions import ConflictError, NotFoundError
from openintent.models import PlanState, TaskStatus

pytestmark = pytest.mark.live


@pytest.fixture
def c(live_server_url):
    return OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="planner")


def test_task_methods(c):
    intent = c.create_intent("tasks")
    a = c.create_task(intent.id, "a", description="first", metadata={"k": 1}, timeout_seconds=60)
    assert a.status == TaskStatus.PENDING and a.metadata == {"k": 1} and a.version == 1
    b = c.create_task(intent.id, "b", depends_on=[a.id])
    assert c.get_task(a.id).blocks == [b.id]
    assert [t.id for t in c.list_tasks(intent.id)] == [a.id, b.id]
    running = c.update_task(a.id, 1, status="running", assigned_agent="planner")
    assert running.version == 2 and running.status == TaskStatus.RUNNING and running.started_at
    assert [t.id for t in c.list_tasks(intent.id, status=TaskStatus.RUNNING)] == [a.id]
    with pytest.raises(ConflictError):
        c.update_task(a.id, 1, status="completed")
    done = c.update_task(a.id, 2, status="completed", output={"r": 1})
    assert done.status == TaskStatus.COMPLETED and done.output == {"r": 1}
    assert c.get_task(b.id).status == TaskStatus.READY
    with pytest.raises(NotFoundError):
        c.get_task("nope")


def test_plan_methods_and_a_plan_running_to_completion(c):
    intent = c.create_intent("plan")
    a = c.create_task(intent.id, "a")
    b = c.create_task(intent.id, "b", depends_on=[a.id])
    t3 = c.create_task(intent.id, "c", depends_on=[b.id])
    plan = c.create_plan(intent.id, tasks=[a.id, b.id, t3.id], on_failure="fail", metadata={"p": 1})
    assert plan.state == PlanState.DRAFT and plan.tasks == [a.id, b.id, t3.id] and plan.metadata == {"p": 1}
    assert [p.id for p in c.list_plans(intent.id)] == [plan.id]
    active = c.update_plan(plan.id, plan.version, state="active")
    assert active.state == PlanState.ACTIVE and active.version == 2
    with pytest.raises(ConflictError):
        c.update_plan(plan.id, 1, state="paused")
    ready_order = []
    for task in (a, b, t3):
        current = c.get_task(task.id)
        if task is not a:
            assert current.status == TaskStatus.READY
            ready_order.append(task.id)
        running = c.update_task(task.id, current.version, status="running")
        c.update_task(task.id, running.version, status="completed")
    assert ready_order == [b.id, t3.id]
    assert c.get_plan(plan.id).state == PlanState.COMPLETED


def test_failing_task_retried_then_fails_the_plan(c):
    intent = c.create_intent("retry")
    a = c.create_task(intent.id, "flaky", max_attempts=2)
    plan = c.create_plan(intent.id, tasks=[a.id], on_failure="retry")
    c.update_plan(plan.id, plan.version, state="active")
    task = c.update_task(a.id, 1, status="running")
    task = c.update_task(a.id, task.version, status="failed", error="boom")
    assert task.status == TaskStatus.READY and task.attempt == 2  # retried by the plan policy
    task = c.update_task(a.id, task.version, status="running")
    task = c.update_task(a.id, task.version, status="failed", error="boom")
    assert task.status == TaskStatus.FAILED and task.attempt == 2
    # attempts exhausted: on_failure "retry" then behaves as pause_and_escalate
    assert c.get_plan(plan.id).state == PlanState.PAUSED

    b = c.create_task(intent.id, "fatal", max_attempts=1)
    failing = c.create_plan(intent.id, tasks=[b.id], on_failure="fail")
    c.update_plan(failing.id, failing.version, state="active")
    task = c.update_task(b.id, 1, status="running")
    c.update_task(b.id, task.version, status="failed", error="fatal")
    assert c.get_plan(failing.id).state == PlanState.FAILED
