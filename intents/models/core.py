"""Intents (RFC-0001), their graph links (RFC-0002), the append-only event log and agent
assignments."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class IntentStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    BLOCKED = "blocked"
    SUSPENDED_AWAITING_INPUT = "suspended_awaiting_input"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Intent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    constraints = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)
    # The protocol does not enforce a transition table (01, "Status"): any of the six values
    # may follow any other, so only the value set is constrained.
    status = models.CharField(
        max_length=32, choices=IntentStatus.choices, default=IntentStatus.DRAFT, db_index=True
    )
    confidence = models.FloatField(default=0.0)
    version = models.PositiveIntegerField(default=1)
    governance_policy = models.JSONField(null=True, blank=True)
    # The ordered ``depends_on`` list as served on every intent read. The Dependency rows
    # below hold the same edges for "who depends on X" lookups; the dependency services
    # write both in one transaction.
    depends_on_ids = models.JSONField(default=list, blank=True, editable=False)
    # The last event sequence handed out; bumped under the row lock by events.record().
    event_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="intent_status_created")]

    def __str__(self) -> str:
        return self.title

    @property
    def depends_on(self) -> list[str]:
        """Ids this intent waits for, in the order they were added."""
        return list(self.depends_on_ids)


class Dependency(models.Model):
    """One "waits for" edge. ``depends_on_id`` is a plain string: ids given at creation are
    stored unchecked (02), so the target may not exist. The edge table makes "who depends on
    X" (dependents, cycle checks) one indexed query on every database; JSON containment has
    no portable index."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on_id = models.CharField(max_length=64, db_index=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["intent", "position"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "depends_on_id"], name="dependency_unique_edge")
        ]


class Event(models.Model):
    """The append-only log. ``id`` is a global insertion counter (a cursor for multi-intent
    streams); ``uuid`` is the public event id; ``sequence`` is gap-free per intent."""

    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.PROTECT, related_name="events", db_index=False)
    sequence = models.PositiveBigIntegerField()
    event_type = models.CharField(max_length=100)
    actor = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    trace_id = models.CharField(max_length=200, null=True, blank=True)
    parent_event_id = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["intent", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "sequence"], name="event_unique_sequence")
        ]
        indexes = [models.Index(fields=["intent", "event_type"], name="event_intent_type")]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.sequence}"


class Assignment(models.Model):
    """One row per (intent, agent): REF duplicated rows on repeated assignment (01, FIX)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="assignments")
    agent_id = models.CharField(max_length=200, db_index=True)
    role = models.CharField(max_length=100, default="worker")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "agent_id"], name="assignment_unique_agent")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} on {self.intent_id}"
