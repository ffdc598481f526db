"""Scope leases (RFC-0003 leasing part, 03)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Intent


# A lease taken or renewed without ``duration_seconds`` lasts this long (03).
DEFAULT_LEASE_SECONDS = 300
SCOPE_MAX_LENGTH = 500


class Lease(models.Model):
    """Exclusive, time-limited ownership of a scope within an intent.

    *Active* (03) means ``released_at IS NULL AND expires_at > now``: a time-dependent rule no
    index can hold. So ``holds_scope`` marks the row that occupies the (intent, scope) slot,
    and a partial unique constraint allows one such row per slot, on SQLite and PostgreSQL.
    Release clears it; an acquire retires expired holders in its own transaction before it
    inserts. ``expiry_announced_at`` is the "announced once" flag of the expiry task (03),
    also set by agent-death cleanup (16) and cleared when a renewal revives the lease."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="leases")
    agent_id = models.CharField(max_length=200, db_index=True)
    scope = models.CharField(max_length=SCOPE_MAX_LENGTH)
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    holds_scope = models.BooleanField(default=True, editable=False)
    expiry_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    release_reason = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["acquired_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["intent", "scope"],
                condition=Q(holds_scope=True),
                name="lease_one_holder_per_scope",
            )
        ]
        indexes = [
            # The expiry sweep: unreleased, unannounced leases by expiry time.
            models.Index(
                fields=["expires_at"],
                condition=Q(released_at__isnull=True, expiry_announced_at__isnull=True),
                name="lease_expiry_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} ({self.agent_id})"

    def status_at(self, now) -> str:
        if self.released_at is not None:
            return "released"
        return "expired" if self.expires_at <= now else "active"

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())
