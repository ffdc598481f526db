"""Retry policies, failure records and fallback hand-offs (RFC-0010, 10)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from .core import Intent


class RetryStrategy(models.TextChoices):
    NONE = "none"
    FIXED = "fixed"
    EXPONENTIAL = "exponential"
    LINEAR = "linear"


class RetryPolicy(models.Model):
    """At most one per intent (10). ``id`` and ``created_at`` survive a replacing PUT."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.OneToOneField(Intent, on_delete=models.CASCADE, related_name="retry_policy")
    strategy = models.CharField(max_length=20, choices=RetryStrategy.choices)
    max_retries = models.IntegerField(default=3)
    base_delay_ms = models.BigIntegerField(default=1000)
    max_delay_ms = models.BigIntegerField(default=60000)
    jitter = models.BooleanField(default=True)
    fallback_agent_id = models.CharField(max_length=200, null=True, blank=True)
    failure_threshold = models.IntegerField(default=3)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "retry policies"

    def __str__(self) -> str:
        return f"{self.strategy} for {self.intent_id}"


class FailureRecord(models.Model):
    """One append-only failure report (10), the superset of REF and SDK fields."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="failures")
    agent_id = models.CharField(max_length=200, null=True, blank=True)
    error_type = models.CharField(max_length=200, null=True, blank=True)
    error_code = models.CharField(max_length=200, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    attempt_number = models.IntegerField(default=1)
    retry_scheduled_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["intent", "agent_id"], name="failure_intent_agent")]

    def __str__(self) -> str:
        return f"{self.error_code or self.error_type or 'failure'} #{self.attempt_number}"


class FallbackStatus(models.TextChoices):
    APPLIED = "applied"
    REJECTED = "rejected"


class FallbackHandoff(models.Model):
    """The RFC-0010 fallback re-assignment, once per (intent, failing agent) (10). The unique
    constraint is the "once": the on-commit task and the beat sweep may both try."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="fallback_handoffs")
    failing_agent_id = models.CharField(max_length=200)
    fallback_agent_id = models.CharField(max_length=200)
    failure_count = models.IntegerField()
    leases_released = models.IntegerField(default=0)
    status = models.CharField(max_length=20, choices=FallbackStatus.choices)
    detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "failing_agent_id"], name="fallback_once_per_agent")
        ]

    def __str__(self) -> str:
        return f"{self.failing_agent_id} → {self.fallback_agent_id} ({self.status})"
