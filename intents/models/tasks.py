"""Tasks and plans (RFC-0012, protocol 12)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from .core import Intent


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    CLAIMED = "claimed"
    RUNNING = "running"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="tasks")
    plan_id = models.CharField(max_length=64, null=True, blank=True)
    name = models.CharField(max_length=1000)
    description = models.TextField(null=True, blank=True)
    parent_task_id = models.CharField(max_length=64, null=True, blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.PENDING, db_index=True)
    priority = models.CharField(max_length=100, default="normal")
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    artifacts = models.JSONField(default=list, blank=True)
    assigned_agent = models.CharField(max_length=200, null=True, blank=True, db_index=True)
    lease_id = models.CharField(max_length=64, null=True, blank=True)
    capabilities_required = models.JSONField(default=list, blank=True)
    depends_on = models.JSONField(default=list, blank=True)
    blocks = models.JSONField(default=list, blank=True)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    max_attempts = models.PositiveIntegerField(default=3)
    permissions = models.CharField(max_length=100, default="inherit")
    memory_policy = models.JSONField(null=True, blank=True)
    requires_tools = models.JSONField(default=list, blank=True)
    blocked_reason = models.TextField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["intent", "created_at"], name="task_intent_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_final(self) -> bool:
        return self.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.SKIPPED) or (
            self.status == TaskStatus.FAILED and self.attempt >= self.max_attempts
        )


class PlanState(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PlanFailureAction(models.TextChoices):
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    NOTIFY = "notify"
    FAIL = "fail"
    RETRY = "retry"


class Plan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=20, choices=PlanState.choices, default=PlanState.DRAFT, db_index=True)
    tasks = models.JSONField(default=list, blank=True)
    checkpoints = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    on_failure = models.CharField(max_length=30, choices=PlanFailureAction.choices, default=PlanFailureAction.PAUSE_AND_ESCALATE)
    on_complete = models.CharField(max_length=200, default="notify")
    metadata = models.JSONField(default=dict, blank=True)
    revisions = models.PositiveIntegerField(default=1)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Plan {self.id}"


class PlanStep(models.Model):
    """Which tasks a plan holds, as rows: "which plans hold this task" is one indexed query."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="plan_steps")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan", "position"]
        constraints = [models.UniqueConstraint(fields=["plan", "task"], name="plan_step_unique")]


def _on_event_recorded(sender, event, **kwargs):
    """Tasks follow their intent's suspension (12 §2 item 4). Connected here because this
    module is loaded in every process (web, worker, beat); the rule lives in the service."""
    if event.event_type in ("status_changed", "intent.resumed"):
        from intents.services.tasks import tasks_follow_intent_suspension

        tasks_follow_intent_suspension(event)


from intents.signals import event_recorded  # noqa: E402

event_recorded.connect(_on_event_recorded, dispatch_uid="intents.tasks.follow_suspension")
