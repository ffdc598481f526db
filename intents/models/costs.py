"""Cost records (RFC-0009, 09)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from .core import Intent


class CostRecord(models.Model):
    """One append-only cost entry (09). ``amount`` is a float, serialised as one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="cost_records")
    agent_id = models.CharField(max_length=200, db_index=True)
    cost_type = models.CharField(max_length=100)
    amount = models.FloatField()
    unit = models.CharField(max_length=100)
    provider = models.CharField(max_length=200, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["intent", "recorded_at"], name="cost_intent_recorded")]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit} ({self.cost_type})"
