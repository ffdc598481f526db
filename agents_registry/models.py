from __future__ import annotations

import uuid

from django.db import models


class ApiKey(models.Model):
    """An API key created by an operator. Only a SHA-256 digest is stored: the key is high
    entropy, so a fast digest is enough, and it keeps authentication to one indexed lookup."""

    name = models.CharField(max_length=100, help_text="What or who this key is for.")
    principal = models.CharField(
        max_length=200,
        blank=True,
        help_text="Identity of callers using this key when they send no X-Agent-ID. "
        "Blank: 'key:<prefix>'.",
    )
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    is_operator = models.BooleanField(
        default=False, help_text="Operator keys may act for any agent (protocol README §2)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def identity(self) -> str:
        return self.principal or f"key:{self.prefix}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- RFC-0016 agent lifecycle -------------------------------------------------------------

class AgentStatus(models.TextChoices):
    ACTIVE = "active"
    DRAINING = "draining"
    UNHEALTHY = "unhealthy"
    DEAD = "dead"
    DEREGISTERED = "deregistered"


LIVE_STATUSES = (AgentStatus.ACTIVE, AgentStatus.DRAINING, AgentStatus.UNHEALTHY)


class AgentRecord(models.Model):
    """A registered agent (16 §1). ``agent_id`` is chosen by the client."""

    agent_id = models.CharField(max_length=200, primary_key=True)
    status = models.CharField(max_length=20, choices=AgentStatus.choices, default=AgentStatus.ACTIVE, db_index=True)
    role_id = models.CharField(max_length=200, null=True, blank=True, db_index=True)
    name = models.CharField(max_length=500, null=True, blank=True)
    endpoint = models.CharField(max_length=2000, null=True, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    capacity = models.JSONField(null=True, blank=True)
    heartbeat_config = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    drain_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    drain_started_at = models.DateTimeField(null=True, blank=True)
    # A drain started by someone else is announced once in the next heartbeat response.
    pending_drain_command = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["registered_at", "agent_id"]

    def __str__(self) -> str:
        return self.agent_id

    @property
    def interval_seconds(self) -> int:
        return int(self.heartbeat_config.get("interval_seconds") or 30)

    @property
    def unhealthy_after_seconds(self) -> int:
        return int(self.heartbeat_config.get("unhealthy_after_seconds") or 3 * self.interval_seconds)

    @property
    def dead_after_seconds(self) -> int:
        return int(self.heartbeat_config.get("dead_after_seconds") or 10 * self.interval_seconds)


class SweepState(models.Model):
    """One row: when the health sweep last ran, and when it resumed after downtime (16 §4)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_run_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)


# --- RFC-0015 agent memory ----------------------------------------------------------------

class MemoryType(models.TextChoices):
    WORKING = "working"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"


class MemoryPriority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class MemorySensitivity(models.TextChoices):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class MemoryEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent_id = models.CharField(max_length=200, db_index=True)
    namespace = models.CharField(max_length=500)
    key = models.CharField(max_length=500)
    value = models.JSONField(default=dict)
    memory_type = models.CharField(max_length=20, choices=MemoryType.choices, default=MemoryType.WORKING)
    version = models.PositiveIntegerField(default=1)
    scope = models.JSONField(null=True, blank=True)
    scope_task_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    scope_intent_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    ttl = models.CharField(max_length=100, null=True, blank=True)
    pinned = models.BooleanField(default=False)
    priority = models.CharField(max_length=10, choices=MemoryPriority.choices, default=MemoryPriority.NORMAL)
    sensitivity = models.CharField(max_length=20, choices=MemorySensitivity.choices, null=True, blank=True)
    curated_by = models.CharField(max_length=200, null=True, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)
    last_accessed_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name_plural = "memory entries"
        ordering = ["-updated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent_id", "namespace", "key"],
                condition=~models.Q(memory_type="semantic"),
                name="memory_unique_agent_key",
            ),
            models.UniqueConstraint(
                fields=["namespace", "key"],
                condition=models.Q(memory_type="semantic"),
                name="memory_unique_semantic_key",
            ),
        ]
        indexes = [models.Index(fields=["agent_id", "-updated_at"], name="memory_agent_recent")]

    def __str__(self) -> str:
        return f"{self.agent_id}:{self.namespace}/{self.key}"


class MemoryTag(models.Model):
    """One row per (entry, tag), so tag filters are indexed joins on every database."""

    entry = models.ForeignKey(MemoryEntry, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "tag"], name="memory_tag_unique")]
        indexes = [models.Index(fields=["tag", "entry"], name="memory_tag_lookup")]
