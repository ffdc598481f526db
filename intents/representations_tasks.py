"""Wire shapes of tasks and plans (12 §1, §2)."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp as ts

from .models import Plan, Task


def task_dict(task: Task) -> dict:
    return {
        "id": str(task.id),
        "intent_id": str(task.intent_id),
        "plan_id": task.plan_id,
        "name": task.name,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "input": task.input,
        "output": task.output,
        "artifacts": task.artifacts,
        "assigned_agent": task.assigned_agent,
        "lease_id": task.lease_id,
        "capabilities_required": task.capabilities_required,
        "depends_on": task.depends_on,
        "blocks": task.blocks,
        "parent_task_id": task.parent_task_id,
        "retry_policy": None,
        "timeout_seconds": task.timeout_seconds,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "permissions": task.permissions,
        "memory_policy": task.memory_policy,
        "requires_tools": task.requires_tools,
        "blocked_reason": task.blocked_reason,
        "error": task.error,
        # FIX (12 §1): REF key task_metadata, the SDK reads metadata.
        "task_metadata": task.metadata,
        "metadata": task.metadata,
        "version": task.version,
        "created_at": ts(task.created_at),
        "started_at": ts(task.started_at),
        "completed_at": ts(task.completed_at),
    }


def plan_dict(plan: Plan) -> dict:
    return {
        "id": str(plan.id),
        "intent_id": str(plan.intent_id),
        "version": plan.version,
        "state": plan.state,
        "tasks": plan.tasks,
        "checkpoints": plan.checkpoints,
        "conditions": plan.conditions,
        "on_failure": plan.on_failure,
        "on_complete": plan.on_complete,
        "plan_metadata": plan.metadata,
        "metadata": plan.metadata,
        "created_at": ts(plan.created_at),
        "updated_at": ts(plan.updated_at),
    }
