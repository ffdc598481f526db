"""Triggers (RFC-0017): stored rules that create intents, and the history of their fires."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class TriggerType(models.TextChoices):
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"


class Deduplication(models.TextChoices):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"


class FireSource(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"
    QUEUE = "queue"


class FireOutcome(models.TextChoices):
    FIRED = "fired"
    SKIPPED = "skipped"
    QUEUED = "queued"
    BLOCKED = "blocked"
    CASCADE_LIMIT = "cascade_limit"
    # Not in 17's list: an automatic fire whose intent could not be created (a template that
    # renders to an invalid intent). Recorded so operators see it instead of a silent gap.
    FAILED = "failed"


class Trigger(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=TriggerType.choices)
    enabled = models.BooleanField(default=True)
    # The public condition, without the webhook secret (stored encrypted below, 17 §2).
    condition = models.JSONField(null=True, blank=True)
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    intent_template = models.JSONField(null=True, blank=True)
    deduplication = models.CharField(max_length=8, choices=Deduplication.choices, default=Deduplication.ALLOW)
    namespace = models.CharField(max_length=255, null=True, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_by = models.CharField(max_length=255, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_fired_at = models.DateTimeField(null=True, blank=True)
    # Schedule triggers: the next tick, in UTC. The scheduler claims a tick by moving it.
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Queue deduplication (17 §5.4): at most one pending fire, waiting for this intent.
    pending_fire = models.BooleanField(default=False)
    pending_intent_id = models.UUIDField(null=True, blank=True)
    pending_payload = models.JSONField(null=True, blank=True)
    # Webhook routing (copied from the condition so the database enforces uniqueness).
    webhook_path = models.CharField(max_length=500, null=True, blank=True)
    webhook_method = models.CharField(max_length=10, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["type", "enabled"], name="trigger_type_enabled")]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook_method", "webhook_path"],
                condition=Q(webhook_path__isnull=False),
                name="trigger_unique_webhook_route",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class TriggerFire(models.Model):
    """One fire attempt and its outcome. Keyed by the trigger's id, not a foreign key: the
    history outlives the trigger (17 §3, DELETE keeps it)."""

    id = models.BigAutoField(primary_key=True)
    trigger_id = models.UUIDField(db_index=True)
    trigger_name = models.CharField(max_length=255, default="")
    fired_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=FireSource.choices)
    outcome = models.CharField(max_length=16, choices=FireOutcome.choices)
    intent_id = models.UUIDField(null=True, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    # What this fire answers to: "tick:<iso>" (a schedule tick), "event:<id>", "webhook:<digest>".
    # Unique per trigger, so a duplicate task delivery or a second worker claims nothing.
    dedup_key = models.CharField(max_length=200, null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["trigger_id", "-fired_at"], name="triggerfire_trigger_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger_id", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="triggerfire_unique_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trigger_name} {self.outcome} at {self.fired_at:%Y-%m-%d %H:%M:%S}"
