"""Webhook subscriptions (RFC-0006 §2) and their durable delivery outbox."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Subscription(models.Model):
    """``intent_id``/``portfolio_id`` are plain ids: the portfolio model lives elsewhere and
    an intent may be referenced before any foreign key could be checked cheaply. Both null =
    global. ``secret`` signs deliveries (Standard Webhooks); it is shown once, at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent_id = models.UUIDField(null=True, blank=True, db_index=True)
    portfolio_id = models.UUIDField(null=True, blank=True, db_index=True)
    subscriber_id = models.CharField(max_length=200, db_index=True)
    event_types = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(max_length=2000, null=True, blank=True)
    secret = models.CharField(max_length=200, editable=False)
    active = models.BooleanField(default=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"subscription {self.id} → {self.webhook_url or '(record only)'}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (due at next_attempt_at)
    SENDING = "sending"  # claimed by a worker (claimed_at); a stale claim is re-enqueued
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after WEBHOOK_MAX_ATTEMPTS, or the URL was refused


class Delivery(models.Model):
    """The outbox: one row per (subscription, event), written in the event's transaction."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("intents.Event", on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="delivery_unique_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.status})"


class DeliveryAttempt(models.Model):
    """Every HTTP attempt, successful or not."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
