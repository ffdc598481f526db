"""Tasks and plans (RFC-0012, protocol 12): creation, the transition table, dependency
resolution, retries, timeouts, plan roll-up, checkpoints and ``on_failure``.

Every write locks the owning intent first (events need it), then the task or plan rows, and
logs its events in the same transaction. Server-side changes use the actor ``system``."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from django.db import transaction
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp, parse_timestamp
from openintent_project.errors import Conflict, Forbidden, InvalidInput, NotFound, VersionConflict

from .. import access, events
from ..access import Permission
from ..models import Intent, Plan, PlanStep, Task, TaskStatus
from ..models.tasks import PlanFailureAction, PlanState  # noqa: F401
from .core import _as_uuid, intent_lock

logger = logging.getLogger(__name__)

TASK_NOT_FOUND = "Task not found"
PLAN_NOT_FOUND = "Plan not found"
SYSTEM = "system"
FINAL_PLAN_STATES = (PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED)
CHECKPOINT_TIMEOUT_ACTIONS = ("escalate", "auto_approve", "fail")


def _enum(value: Any, allowed: Iterable[str], loc: tuple) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidInput.at(loc, f"Input should be one of: {', '.join(allowed)}", type="enum", input=value)


def _ms(start, end) -> int | None:
    return int((end - start).total_seconds() * 1000) if start and end else None


# --- reads --------------------------------------------------------------------------------

def task_get(task_id: Any) -> Task:
    pk = _as_uuid(task_id)
    task = Task.objects.select_related("intent").filter(pk=pk).first() if pk else None
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


def _readable_intent(principal: Principal | None, intent_id: Any) -> Intent | None:
    """The intent when it exists and ``principal`` may read it (11 §2: reads of tasks and
    plans need read on the owning intent); None for an unknown intent (REF: ``[]``)."""
    pk = _as_uuid(intent_id)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is not None and principal is not None:
        access.require_permission(principal, intent, Permission.READ)
    return intent


def task_read(*, principal: Principal, task_id: Any) -> Task:
    task = task_get(task_id)
    access.require_permission(principal, task.intent, Permission.READ)
    return task


def plan_read(*, principal: Principal, plan_id: Any) -> Plan:
    plan = plan_get(plan_id)
    access.require_permission(principal, plan.intent, Permission.READ)
    return plan


def task_list(*, intent_id: Any, principal: Principal | None = None, status: str | None = None, limit: int = 100, offset: int = 0) -> list[Task]:
    intent = _readable_intent(principal, intent_id)
    if intent is None:
        return []
    tasks = Task.objects.filter(intent=intent)
    if status:
        tasks = tasks.filter(status=status)
    return list(tasks.order_by("created_at", "id")[offset:offset + limit])


def plan_get(plan_id: Any) -> Plan:
    pk = _as_uuid(plan_id)
    plan = Plan.objects.select_related("intent").filter(pk=pk).first() if pk else None
    if plan is None:
        raise NotFound(PLAN_NOT_FOUND)
    return plan


def plan_list(*, intent_id: Any, principal: Principal | None = None) -> list[Plan]:
    intent = _readable_intent(principal, intent_id)
    return list(Plan.objects.filter(intent=intent).order_by("created_at", "id")) if intent else []


# --- create -------------------------------------------------------------------------------

def _tasks_of_intent(intent: Intent, ids: Iterable[str], loc: tuple) -> list[Task]:
    """The tasks named by ``ids``, which must exist and belong to ``intent`` (12 FIX)."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    parsed = [(_as_uuid(i), i) for i in ids]
    found = {str(t.pk): t for t in Task.objects.filter(pk__in=[p for p, _ in parsed if p], intent=intent)}
    for pk, raw in parsed:
        if pk is None or str(pk) not in found:
            raise InvalidInput.at(loc, f"Unknown task '{raw}' for this intent", type="value_error", input=raw)
    return [found[str(pk)] for pk, _ in parsed]


def _validate_memory_policy(policy: dict | None) -> None:
    if policy is None:
        return
    loc = ("body", "memory_policy")
    for name in ("archive_on_completion", "inherit_from_parent"):
        if name in policy and not isinstance(policy[name], bool):
            raise InvalidInput.at((*loc, name), "Input should be a valid boolean", type="bool_type", input=policy[name])
    for name in ("max_entries", "max_total_size_kb"):
        value = policy.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput.at((*loc, name), "Input should be a non-negative integer", type="int_type", input=value)


@transaction.atomic
def task_create(*, principal: Principal, intent_id: Any, name: str, **fields: Any) -> Task:
    _validate_memory_policy(fields.get("memory_policy"))
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    depends_on = [str(t.pk) for t in _tasks_of_intent(intent, fields.pop("depends_on", []) or [], ("body", "depends_on"))]
    parent = fields.get("parent_task_id")
    if parent is not None:
        _tasks_of_intent(intent, [parent], ("body", "parent_task_id"))
    task = Task.objects.create(intent=intent, name=name, depends_on=depends_on, **fields)
    # blocks is maintained on the dependencies without a version change (12 §1).
    for dependency in Task.objects.select_for_update().filter(pk__in=depends_on):
        dependency.blocks = [*dependency.blocks, str(task.pk)]
        dependency.save(update_fields=["blocks"])
    events.record(intent, "task.created", principal.id, {"task_id": str(task.pk), "name": task.name, "capabilities_required": task.capabilities_required})
    return task


# --- transitions --------------------------------------------------------------------------

def _unmet(task: Task) -> list[str]:
    if not task.depends_on:
        return []
    done = {str(pk) for pk in Task.objects.filter(pk__in=task.depends_on, status=TaskStatus.COMPLETED).values_list("pk", flat=True)}
    return [dep for dep in task.depends_on if dep not in done]


def _require_deps(task: Task) -> None:
    unmet = _unmet(task)
    if unmet:
        raise Conflict("Task dependencies not completed", unmet_dependencies=unmet)


def _invalid(current: str, new: str) -> Conflict:
    return Conflict(f"Invalid task transition '{current}' -> '{new}'")


def _save(task: Task, *fields: str) -> None:
    task.version += 1
    task.save(update_fields=[*fields, "version"])


def _check_transition(task: Task, new: str) -> None:
    current = task.status
    if current in (TaskStatus.COMPLETED, TaskStatus.SKIPPED, TaskStatus.CANCELLED):
        raise _invalid(current, new)
    allowed_from = {
        TaskStatus.CLAIMED: (TaskStatus.PENDING, TaskStatus.READY),
        TaskStatus.RUNNING: (TaskStatus.PENDING, TaskStatus.READY, TaskStatus.CLAIMED, TaskStatus.BLOCKED),
        TaskStatus.BLOCKED: (TaskStatus.RUNNING,),
        TaskStatus.COMPLETED: (TaskStatus.RUNNING, TaskStatus.CLAIMED),
        TaskStatus.FAILED: (TaskStatus.PENDING, TaskStatus.READY, TaskStatus.CLAIMED, TaskStatus.RUNNING, TaskStatus.BLOCKED),
        TaskStatus.READY: (TaskStatus.FAILED,),
        TaskStatus.SKIPPED: (TaskStatus.PENDING,),
        TaskStatus.CANCELLED: tuple(TaskStatus.values),
    }
    if current == TaskStatus.FAILED and task.attempt >= task.max_attempts:
        raise _invalid(current, new)
    if current not in allowed_from.get(new, ()):
        raise _invalid(current, new)


def _require_agent_may_work(agent_id: str | None) -> None:
    from agents_registry.services import agent_may_take_work

    if agent_id and not agent_may_take_work(agent_id):
        raise Conflict("Agent is draining; new assignments are refused")


@transaction.atomic
def task_update(
    *,
    principal: Principal,
    task_id: Any,
    expected_version: int,
    status: str | None = None,
    assigned_agent: str | None = None,
    output: dict | None = None,
    error: str | None = None,
    blocked_reason: str | None = None,
) -> Task:
    """PATCH /tasks/{id}. Order: 404 → 403 → 400 status → 409 version → 409 transition."""
    found = task_get(task_id)
    intent = intent_lock(found.intent_id)
    task = Task.objects.select_for_update().get(pk=found.pk)
    access.require_permission(principal, intent, Permission.WRITE)
    if status is not None:
        _enum(status, TaskStatus.values, ("body", "status"))
    if task.version != expected_version:
        raise VersionConflict(current_version=task.version)
    actor = principal.id
    new = status or task.status
    changed = ["version"]
    if assigned_agent is not None:
        task.assigned_agent = assigned_agent
        changed.append("assigned_agent")
    if output is not None:
        task.output = output
        changed.append("output")
    if error is not None:
        task.error = error
        changed.append("error")
    if blocked_reason is not None:
        task.blocked_reason = blocked_reason
        changed.append("blocked_reason")
    if new == task.status:
        _save(task, *changed[1:])
        return task
    _check_transition(task, new)
    now = timezone.now()
    current = task.status
    if new in (TaskStatus.CLAIMED, TaskStatus.RUNNING) and current != TaskStatus.BLOCKED:
        _require_deps(task)
        agent = assigned_agent or task.assigned_agent or principal.id
        if current != TaskStatus.CLAIMED:
            _require_agent_may_work(agent)
        task.assigned_agent = agent
        changed.append("assigned_agent")
    payload_id = str(task.pk)
    if new == TaskStatus.CLAIMED:
        task.status, task.claimed_at = new, now
        _save(task, *changed[1:], "status", "claimed_at")
        events.record(intent, "task.claimed", actor, {"task_id": payload_id, "agent_id": task.assigned_agent, "lease_id": task.lease_id})
    elif new == TaskStatus.RUNNING:
        if current == TaskStatus.BLOCKED:
            resolution = task.blocked_reason
            task.status, task.blocked_reason = new, None
            _save(task, *changed[1:], "status", "blocked_reason")
            events.record(intent, "task.unblocked", actor, {"task_id": payload_id, "resolution": resolution})
        else:
            task.status = new
            task.started_at = task.started_at or now
            task.claimed_at = task.claimed_at or now
            _save(task, *changed[1:], "status", "started_at", "claimed_at")
            events.record(intent, "task.started", actor, {"task_id": payload_id, "agent_id": task.assigned_agent})
    elif new == TaskStatus.BLOCKED:
        task.status = new
        _save(task, *changed[1:], "status")
        events.record(intent, "task.blocked", actor, {"task_id": payload_id, "reason": task.blocked_reason, "blocked_by": None})
    elif new == TaskStatus.COMPLETED:
        task.status, task.completed_at = new, now
        _save(task, *changed[1:], "status", "completed_at")
        events.record(intent, "task.completed", actor, {"task_id": payload_id, "output": task.output, "artifacts": task.artifacts, "duration_ms": _ms(task.started_at or task.claimed_at or task.created_at, now)})
        _after_final(intent, task, actor)
    elif new == TaskStatus.FAILED:
        if len(changed) > 1:
            task.save(update_fields=changed[1:])
        _fail(intent, task, error=task.error, actor=actor, server_retry=False)
    elif new == TaskStatus.READY:
        if len(changed) > 1:
            task.save(update_fields=changed[1:])
        _retry(intent, task, actor)
    elif new == TaskStatus.SKIPPED:
        task.status = new
        _save(task, *changed[1:], "status")
        events.record(intent, "task.skipped", actor, {"task_id": payload_id, "condition_id": None, "reason": task.error})
        _after_final(intent, task, actor)
    elif new == TaskStatus.CANCELLED:
        task.status, task.completed_at = new, now
        _save(task, *changed[1:], "status", "completed_at")
        events.record(intent, "task.cancelled", actor, {"task_id": payload_id, "reason": task.error})
        _after_final(intent, task, actor)
    return task


def _active_plans_of(task: Task) -> list[Plan]:
    return list(Plan.objects.select_for_update().filter(steps__task=task).order_by("created_at", "id"))


def _server_retries(task: Task, *, server_retry: bool) -> bool:
    if task.attempt >= task.max_attempts:
        return False
    if server_retry:
        return True
    return Plan.objects.filter(steps__task=task, state=PlanState.ACTIVE, on_failure=PlanFailureAction.RETRY).exists()


def _fail(intent: Intent, task: Task, *, error: str | None, actor: str, server_retry: bool) -> None:
    """→ failed, then the server's own retry (timeout, agent death, plan ``on_failure:
    retry``) or the final-state hooks and the plan's ``on_failure`` (12 §1, §2)."""
    will_retry = _server_retries(task, server_retry=server_retry)
    task.status, task.error, task.completed_at = TaskStatus.FAILED, error, timezone.now()
    _save(task, "status", "error", "completed_at")
    events.record(intent, "task.failed", actor, {"task_id": str(task.pk), "error": error, "attempt": task.attempt, "will_retry": will_retry})
    if will_retry:
        _retry(intent, task, SYSTEM)
        return
    if task.is_final:
        _final_hooks(intent, task, actor)
    for plan in _active_plans_of(task):
        if plan.state != PlanState.ACTIVE:
            continue
        action = plan.on_failure
        if action == PlanFailureAction.FAIL:
            _plan_set_state(intent, plan, PlanState.FAILED, SYSTEM, failed_task_id=str(task.pk), error=error)
        elif action in (PlanFailureAction.PAUSE_AND_ESCALATE, PlanFailureAction.RETRY):
            _plan_set_state(intent, plan, PlanState.PAUSED, SYSTEM, reason="task_failed")
            _escalate(intent, reason=f"Task '{task.name}' failed", context={"plan_id": str(plan.pk), "task_id": str(task.pk)})


def _retry(intent: Intent, task: Task, actor: str) -> None:
    if task.attempt >= task.max_attempts:
        raise Conflict(f"Invalid task transition '{task.status}' -> 'ready'")
    now = timezone.now()
    task.status, task.attempt = TaskStatus.READY, task.attempt + 1
    task.error = task.completed_at = task.assigned_agent = task.claimed_at = task.started_at = None
    _save(task, "status", "attempt", "error", "completed_at", "assigned_agent", "claimed_at", "started_at")
    events.record(intent, "task.retrying", actor, {"task_id": str(task.pk), "attempt": task.attempt, "next_attempt_at": format_timestamp(now)})


def _final_hooks(intent: Intent, task: Task, actor: str) -> None:
    """Once a task is final, its scoped working memory is archived and deleted (15 §4) and
    the tool grants bound to it are revoked (14 §3)."""
    from agents_registry.services_memory import memory_archive_for_task
    from vaults.services import grants_revoke_for_task

    memory_archive_for_task(intent=intent, task=task)
    grants_revoke_for_task(task_id=task.pk)


def _after_final(intent: Intent, task: Task, actor: str) -> None:
    """completed/skipped/cancelled: release dependents, run checkpoints, roll plans up."""
    _final_hooks(intent, task, actor)
    if task.status == TaskStatus.COMPLETED and task.blocks:
        for blocked in Task.objects.select_for_update().filter(pk__in=task.blocks, status=TaskStatus.PENDING).order_by("created_at", "id"):
            if not _unmet(blocked):
                blocked.status = TaskStatus.READY
                _save(blocked, "status")
                events.record(intent, "task.ready", SYSTEM, {"task_id": str(blocked.pk), "resolved_dependencies": list(blocked.depends_on)})
    for plan in _active_plans_of(task):
        if plan.state != PlanState.ACTIVE:
            continue
        if task.status == TaskStatus.COMPLETED and _reach_checkpoints(intent, plan, task):
            continue
        _plan_roll_up(intent, plan)


def _reach_checkpoints(intent: Intent, plan: Plan, task: Task) -> bool:
    """Checkpoints after ``task`` (12 §2 item 1). True when the plan paused on one."""
    paused = False
    now = timezone.now()
    checkpoints = [dict(c) for c in plan.checkpoints]
    for checkpoint in checkpoints:
        after = checkpoint.get("after_task") or checkpoint.get("after")
        if after != str(task.pk) or checkpoint.get("status", "pending") != "pending":
            continue
        requires = checkpoint.get("requires_approval", True)
        checkpoint["reached_at"] = format_timestamp(now)
        checkpoint["status"] = "waiting" if requires else "passed"
        events.record(intent, "plan.checkpoint_reached", SYSTEM, {"plan_id": str(plan.pk), "checkpoint_id": checkpoint.get("id"), "requires_approval": requires})
        paused = paused or requires
    plan.checkpoints = checkpoints
    plan.save(update_fields=["checkpoints"])
    if paused:
        _plan_set_state(intent, plan, PlanState.PAUSED, SYSTEM, reason="checkpoint")
    return paused


def _plan_roll_up(intent: Intent, plan: Plan) -> None:
    statuses = list(Task.objects.filter(plan_steps__plan=plan).values_list("status", flat=True))
    if statuses and all(s in (TaskStatus.COMPLETED, TaskStatus.SKIPPED) for s in statuses):
        _plan_set_state(intent, plan, PlanState.COMPLETED, SYSTEM)


def _plan_set_state(intent: Intent, plan: Plan, state: str, actor: str, **details: Any) -> None:
    now = timezone.now()
    previous = plan.state
    plan.state = state
    plan.version += 1
    plan.updated_at = now
    if state == PlanState.ACTIVE and plan.activated_at is None:
        plan.activated_at = now
    plan.save(update_fields=["state", "version", "updated_at", "activated_at"])
    pid = str(plan.pk)
    if state == PlanState.ACTIVE:
        event = ("plan.activated", {"plan_id": pid}) if previous == PlanState.DRAFT else ("plan.resumed", {"plan_id": pid})
    elif state == PlanState.PAUSED:
        event = ("plan.paused", {"plan_id": pid, "reason": details.get("reason")})
    elif state == PlanState.COMPLETED:
        statuses = list(Task.objects.filter(plan_steps__plan=plan).values_list("status", flat=True))
        event = ("plan.completed", {"plan_id": pid, "duration_ms": _ms(plan.activated_at, now),
                                    "tasks_completed": statuses.count(TaskStatus.COMPLETED), "tasks_skipped": statuses.count(TaskStatus.SKIPPED)})
    elif state == PlanState.FAILED:
        event = ("plan.failed", {"plan_id": pid, "failed_task_id": details.get("failed_task_id"), "error": details.get("error")})
    else:
        # plan.cancelled is not in the SDK's event enum (12 §2: "SSE only"); storing it would
        # make the official client's get_events() raise, so it is not logged.
        return
    events.record(intent, event[0], actor, event[1])


def _escalate(intent: Intent, *, reason: str, context: dict) -> None:
    """An escalation (13) raised by the server (``escalated_by: system``), in the caller's
    transaction (the intent row is already locked by it)."""
    from governance.services.review import escalation_create
    from openintent_project.api.principal import SYSTEM

    escalation_create(principal=SYSTEM, intent_id=intent.pk, reason=reason, context=context, escalated_by=SYSTEM.id)


# --- server-side failures (timeouts, agent death) -----------------------------------------

def _fail_locked(task_id, *, error: str, expected: Iterable[str]) -> bool:
    """Lock the intent and the task, re-check its status, fail it (and retry)."""
    with transaction.atomic():
        row = Task.objects.filter(pk=task_id).values_list("intent_id", flat=True).first()
        if row is None:
            return False
        intent = intent_lock(row)
        task = Task.objects.select_for_update(skip_locked=True).filter(pk=task_id, status__in=list(expected)).first()
        if task is None:
            return False
        _fail(intent, task, error=error, actor=SYSTEM, server_retry=True)
        return True


def tasks_fail_for_agent(*, agent_id: str, error: str = "agent_dead") -> int:
    """The dead agent's claimed/running tasks → failed, then retried (12 §3). Runs in the
    health sweep's transaction (nested atomic blocks are savepoints)."""
    ids = list(Task.objects.filter(assigned_agent=agent_id, status__in=(TaskStatus.CLAIMED, TaskStatus.RUNNING)).values_list("pk", flat=True))
    return sum(_fail_locked(pk, error=error, expected=(TaskStatus.CLAIMED, TaskStatus.RUNNING)) for pk in ids)


def task_timeout_sweep(*, now=None) -> int:
    """Claimed/running tasks past ``timeout_seconds`` → failed (``timeout``), retried while
    attempts remain (12 §3)."""
    now = now or timezone.now()
    failed = 0
    candidates = Task.objects.filter(status__in=(TaskStatus.CLAIMED, TaskStatus.RUNNING), timeout_seconds__isnull=False)
    for pk, started, claimed, timeout in candidates.values_list("pk", "started_at", "claimed_at", "timeout_seconds"):
        since = started or claimed
        if since and since + timedelta(seconds=timeout) <= now:
            failed += _fail_locked(pk, error="timeout", expected=(TaskStatus.CLAIMED, TaskStatus.RUNNING))
    return failed


# --- plans --------------------------------------------------------------------------------

def _validate_checkpoints(checkpoints: list) -> list[dict]:
    result = []
    for i, checkpoint in enumerate(checkpoints):
        loc = ("body", "checkpoints", i)
        if not isinstance(checkpoint, dict):
            raise InvalidInput.at(loc, "Input should be a valid dictionary", type="dict_type", input=checkpoint)
        checkpoint = dict(checkpoint)
        _enum(checkpoint.setdefault("on_timeout", "escalate"), CHECKPOINT_TIMEOUT_ACTIONS, (*loc, "on_timeout"))
        for name in ("id", "name", "after_task", "after", "status", "approved_by"):
            if checkpoint.get(name) is not None and not isinstance(checkpoint[name], str):
                raise InvalidInput.at((*loc, name), "Input should be a valid string", type="string_type", input=checkpoint[name])
        approvers = checkpoint.get("approvers")
        if approvers is not None and (not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers)):
            raise InvalidInput.at((*loc, "approvers"), "Input should be a list of strings", type="list_type", input=approvers)
        if "requires_approval" in checkpoint and not isinstance(checkpoint["requires_approval"], bool):
            raise InvalidInput.at((*loc, "requires_approval"), "Input should be a valid boolean", type="bool_type", input=checkpoint["requires_approval"])
        hours = checkpoint.get("timeout_hours")
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0):
            raise InvalidInput.at((*loc, "timeout_hours"), "Input should be a positive number", type="float_type", input=hours)
        checkpoint.setdefault("id", f"cp-{i + 1}")
        checkpoint.setdefault("requires_approval", True)
        checkpoint.setdefault("approvers", [])
        checkpoint.setdefault("status", "pending")
        result.append(checkpoint)
    return result


def _set_steps(plan: Plan, tasks: list[Task]) -> None:
    PlanStep.objects.filter(plan=plan).delete()
    PlanStep.objects.bulk_create([PlanStep(plan=plan, task=t, position=i) for i, t in enumerate(tasks)])


@transaction.atomic
def plan_create(*, principal: Principal, intent_id: Any, tasks: list[str], checkpoints: list, conditions: list,
                on_failure: str, on_complete: str, metadata: dict) -> Plan:
    _enum(on_failure, PlanFailureAction.values, ("body", "on_failure"))
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    rows = _tasks_of_intent(intent, tasks, ("body", "tasks"))
    plan = Plan.objects.create(
        intent=intent, tasks=[str(t.pk) for t in rows], checkpoints=_validate_checkpoints(checkpoints),
        conditions=conditions, on_failure=on_failure, on_complete=on_complete, metadata=metadata,
    )
    _set_steps(plan, rows)
    events.record(intent, "plan.created", principal.id, {"plan_id": str(plan.pk), "task_count": len(rows)})
    return plan


PLAN_TRANSITIONS = {
    PlanState.DRAFT: (PlanState.ACTIVE, PlanState.CANCELLED),
    PlanState.ACTIVE: (PlanState.PAUSED, PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED),
    PlanState.PAUSED: (PlanState.ACTIVE, PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED),
}


@transaction.atomic
def plan_update(*, principal: Principal, plan_id: Any, expected_version: int, **changes: Any) -> Plan:
    """PATCH /plans/{id}: state, tasks, checkpoints (and conditions, on_failure, on_complete,
    metadata). Checkpoint resolutions (approved/rejected) resume or fail the plan."""
    found = plan_get(plan_id)
    intent = intent_lock(found.intent_id)
    plan = Plan.objects.select_for_update().get(pk=found.pk)
    access.require_permission(principal, intent, Permission.WRITE)
    state = changes.get("state")
    if state is not None:
        _enum(state, PlanState.values, ("body", "state"))
    if changes.get("on_failure") is not None:
        _enum(changes["on_failure"], PlanFailureAction.values, ("body", "on_failure"))
    if plan.version != expected_version:
        raise VersionConflict(current_version=plan.version)
    if state is not None and state != plan.state and state not in PLAN_TRANSITIONS.get(plan.state, ()):
        raise Conflict(f"Invalid plan transition '{plan.state}' -> '{state}'")
    fields = ["version", "updated_at"]
    if changes.get("tasks") is not None:
        rows = _tasks_of_intent(intent, changes["tasks"], ("body", "tasks"))
        plan.tasks = [str(t.pk) for t in rows]
        _set_steps(plan, rows)
        fields.append("tasks")
    resolutions = []
    if changes.get("checkpoints") is not None:
        before = {c.get("id"): c for c in plan.checkpoints}
        new_checkpoints = _validate_checkpoints(changes["checkpoints"])
        for checkpoint in new_checkpoints:
            old = before.get(checkpoint.get("id"))
            if old and old.get("status") in ("waiting", "escalated") and checkpoint.get("status") in ("approved", "rejected"):
                approvers = old.get("approvers") or []
                if approvers and principal.id not in approvers:
                    raise Forbidden(f"Principal '{principal.id}' may not resolve checkpoint '{checkpoint.get('id')}'")
                resolutions.append(checkpoint)
        plan.checkpoints = new_checkpoints
        fields.append("checkpoints")
    for name in ("conditions", "on_failure", "on_complete", "metadata"):
        if changes.get(name) is not None:
            setattr(plan, name, changes[name])
            fields.append(name)
    if "tasks" in fields or ("checkpoints" in fields and not resolutions):
        plan.revisions += 1
        fields.append("revisions")
    plan.version += 1
    plan.updated_at = timezone.now()
    plan.save(update_fields=fields)
    for checkpoint in resolutions:
        _resolve_checkpoint(intent, plan, checkpoint, principal.id)
    if state is not None and state != plan.state and plan.state not in FINAL_PLAN_STATES:
        if plan.state == PlanState.DRAFT or state in PLAN_TRANSITIONS[plan.state]:
            _plan_set_state(intent, plan, state, principal.id, reason=changes.get("reason"))
            plan.version -= 1  # one PATCH is one version step
            Plan.objects.filter(pk=plan.pk).update(version=plan.version)
        if plan.state == PlanState.ACTIVE:
            _plan_roll_up(intent, plan)
    return plan


def _resolve_checkpoint(intent: Intent, plan: Plan, checkpoint: dict, actor: str) -> None:
    pid, cid = str(plan.pk), checkpoint.get("id")
    if checkpoint["status"] == "approved":
        checkpoint["approved_by"] = checkpoint.get("approved_by") or actor
        checkpoint["approved_at"] = format_timestamp(timezone.now())
        Plan.objects.filter(pk=plan.pk).update(checkpoints=plan.checkpoints)
        events.record(intent, "plan.checkpoint_approved", actor, {"plan_id": pid, "checkpoint_id": cid, "approved_by": checkpoint["approved_by"]})
        if plan.state == PlanState.PAUSED:
            _plan_set_state(intent, plan, PlanState.ACTIVE, actor)
            plan.version -= 1
            Plan.objects.filter(pk=plan.pk).update(version=plan.version)
            _plan_roll_up(intent, plan)
    else:
        Plan.objects.filter(pk=plan.pk).update(checkpoints=plan.checkpoints)
        events.record(intent, "plan.checkpoint_rejected", actor, {"plan_id": pid, "checkpoint_id": cid, "rejected_by": actor, "reason": checkpoint.get("reason")})
        if plan.state not in FINAL_PLAN_STATES:
            _plan_set_state(intent, plan, PlanState.FAILED, actor, error="checkpoint_rejected")
            plan.version -= 1
            Plan.objects.filter(pk=plan.pk).update(version=plan.version)


# --- checkpoint timeouts (12 §3) ------------------------------------------------------------

DEFAULT_CHECKPOINT_TIMEOUT_HOURS = 24.0


def _checkpoint_deadline(checkpoint: dict):
    reached = checkpoint.get("reached_at")
    if not reached:
        return None
    try:
        hours = float(checkpoint.get("timeout_hours") or DEFAULT_CHECKPOINT_TIMEOUT_HOURS)
        return parse_timestamp(reached) + timedelta(hours=hours)
    except (TypeError, ValueError):
        return None


def checkpoint_timeout_sweep(*, now=None) -> int:
    """Waiting checkpoints past ``reached_at + timeout_hours`` get their ``on_timeout``:
    escalate, auto_approve or fail (12 §2 item 3). The checkpoint leaves ``waiting`` in the
    same transaction, so it is handled once."""
    now = now or timezone.now()
    handled = 0
    for plan_id, intent_id in Plan.objects.filter(state=PlanState.PAUSED).values_list("pk", "intent_id"):
        with transaction.atomic():
            intent = intent_lock(intent_id)
            plan = Plan.objects.select_for_update(skip_locked=True).filter(pk=plan_id, state=PlanState.PAUSED).first()
            if plan is None:
                continue
            checkpoints = [dict(c) for c in plan.checkpoints]
            due = [c for c in checkpoints if c.get("status") == "waiting" and (_checkpoint_deadline(c) or now) < now]
            for checkpoint in due:
                action = checkpoint.get("on_timeout", "escalate")
                handled += 1
                if action == "escalate":
                    checkpoint["status"] = "escalated"
                    plan.checkpoints = checkpoints
                    plan.version += 1
                    plan.save(update_fields=["checkpoints", "version"])
                    _escalate(intent, reason=f"Checkpoint '{checkpoint.get('name') or checkpoint.get('id')}' timed out",
                              context={"plan_id": str(plan.pk), "checkpoint_id": checkpoint.get("id")})
                    continue
                checkpoint["status"] = "approved" if action == "auto_approve" else "rejected"
                if action == "fail":
                    checkpoint["reason"] = "timeout"
                plan.checkpoints = checkpoints
                plan.save(update_fields=["checkpoints"])
                _resolve_checkpoint(intent, plan, checkpoint, SYSTEM)
                plan.version += 1
                Plan.objects.filter(pk=plan.pk).update(version=plan.version, checkpoints=plan.checkpoints)
    return handled


# --- intent suspension (12 §2 item 4, RFC-0025) -------------------------------------------

SUSPENDED_REASON = "intent_suspended"


def tasks_follow_intent_suspension(event) -> None:
    """While an intent is ``suspended_awaiting_input`` its running tasks are ``blocked``
    (``blocked_reason: intent_suspended``); when it resumes they run again. Called from the
    ``event_recorded`` hook, inside the transaction that holds the intent lock."""
    intent = event.intent
    if event.event_type == "status_changed" and event.payload.get("status") == "suspended_awaiting_input":
        for task in Task.objects.select_for_update().filter(intent=intent, status=TaskStatus.RUNNING).order_by("created_at", "id"):
            task.status, task.blocked_reason = TaskStatus.BLOCKED, SUSPENDED_REASON
            _save(task, "status", "blocked_reason")
            events.record(intent, "task.blocked", SYSTEM, {"task_id": str(task.pk), "reason": SUSPENDED_REASON, "blocked_by": None})
    elif event.event_type == "intent.resumed" or (
        event.event_type == "status_changed" and event.payload.get("previous_status") == "suspended_awaiting_input"
    ):
        blocked = Task.objects.select_for_update().filter(intent=intent, status=TaskStatus.BLOCKED, blocked_reason=SUSPENDED_REASON)
        for task in blocked.order_by("created_at", "id"):
            task.status, task.blocked_reason = TaskStatus.RUNNING, None
            _save(task, "status", "blocked_reason")
            events.record(intent, "task.unblocked", SYSTEM, {"task_id": str(task.pk), "resolution": "intent_resumed"})
