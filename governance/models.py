"""Governance rows: access control (RFC-0011), arbitration and decisions (RFC-0003
governance part, 04), coordinator leases, decision records, escalations and approvals
(RFC-0013). The governance *policy* itself lives on ``Intent.governance_policy`` (13 §5)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.models import Intent


class PermissionLevel(models.TextChoices):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class PrincipalType(models.TextChoices):
    AGENT = "agent"
    USER = "user"
    GROUP = "group"


class DefaultPolicy(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class AccessControl(models.Model):
    """The ACL's default-policy row. Its existence means "this intent has an ACL" (11 §2
    rule 4); it is created the first time any entry is added and never removed by expiry."""

    intent = models.OneToOneField(Intent, primary_key=True, on_delete=models.CASCADE, related_name="access_control")
    default_policy = models.CharField(max_length=16, choices=DefaultPolicy.choices, default=DefaultPolicy.OPEN)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "access control list"

    def __str__(self) -> str:
        return f"ACL of {self.intent_id} ({self.default_policy})"


class AclEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="acl_entries")
    principal_id = models.CharField(max_length=200)
    principal_type = models.CharField(max_length=16, choices=PrincipalType.choices, default=PrincipalType.AGENT)
    permission = models.CharField(max_length=16, choices=PermissionLevel.choices, default=PermissionLevel.READ)
    granted_by = models.CharField(max_length=200)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reason = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["granted_at", "id"]
        verbose_name = "ACL entry"
        verbose_name_plural = "ACL entries"
        indexes = [models.Index(fields=["intent", "principal_id"], name="aclentry_intent_principal")]

    def __str__(self) -> str:
        return f"{self.principal_id}: {self.permission}"


class DecisionStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class AccessRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="access_requests")
    principal_id = models.CharField(max_length=200, db_index=True)
    principal_type = models.CharField(max_length=16, choices=PrincipalType.choices, default=PrincipalType.AGENT)
    requested_permission = models.CharField(max_length=16, choices=PermissionLevel.choices, default=PermissionLevel.WRITE)
    reason = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=DecisionStatus.choices, default=DecisionStatus.PENDING, db_index=True)
    capabilities = models.JSONField(default=list, blank=True)
    decided_by = models.CharField(max_length=200, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.principal_id} wants {self.requested_permission} ({self.status})"


class ArbitrationStatus(models.TextChoices):
    PENDING = "pending"
    DECIDED = "decided"


class Arbitration(models.Model):
    """An arbitration request. Its id is the id of its ``arbitration_requested`` event (04)."""

    id = models.UUIDField(primary_key=True, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="arbitrations")
    requested_by = models.CharField(max_length=200)
    reason = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    options = models.JSONField(null=True, blank=True)
    priority = models.CharField(max_length=32, default="medium")
    status = models.CharField(max_length=16, choices=ArbitrationStatus.choices, default=ArbitrationStatus.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        # Who may use the arbitrators' review screens (or membership of settings.ARBITRATOR_GROUP).
        permissions = [("review_governance", "Can use the arbitrators' review screens")]

    def __str__(self) -> str:
        return self.reason[:80]


class Decision(models.Model):
    """A recorded decision (RFC-0003). Its id is the id of its ``decision_recorded`` event."""

    id = models.UUIDField(primary_key=True, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="decisions")
    arbitration = models.ForeignKey(Arbitration, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    decision_type = models.CharField(max_length=200)
    outcome = models.JSONField()
    decided_by = models.CharField(max_length=200)
    rationale = models.TextField(blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision_type}: {self.outcome}"


class CoordinatorType(models.TextChoices):
    LLM = "llm"
    HUMAN = "human"
    COMPOSITE = "composite"
    SYSTEM = "system"


class CoordinatorScope(models.TextChoices):
    INTENT = "intent"
    PORTFOLIO = "portfolio"


class CoordinatorStatus(models.TextChoices):
    REGISTERING = "registering"
    ACTIVE = "active"
    PAUSED = "paused"
    UNRESPONSIVE = "unresponsive"
    FAILED_OVER = "failed_over"
    COMPLETING = "completing"
    COMPLETED = "completed"


HELD_STATUSES = (CoordinatorStatus.ACTIVE, CoordinatorStatus.PAUSED, CoordinatorStatus.UNRESPONSIVE)


class CoordinatorLease(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="coordinator_leases")
    # Portfolios are built by another app; the id is kept as a plain value (13 §1).
    portfolio_id = models.UUIDField(null=True, blank=True, db_index=True)
    agent_id = models.CharField(max_length=200, db_index=True)
    role = models.CharField(max_length=100, default="coordinator")
    supervisor_id = models.CharField(max_length=200, null=True, blank=True)
    coordinator_type = models.CharField(max_length=16, choices=CoordinatorType.choices, default=CoordinatorType.LLM)
    scope = models.CharField(max_length=16, choices=CoordinatorScope.choices, default=CoordinatorScope.INTENT)
    status = models.CharField(max_length=16, choices=CoordinatorStatus.choices, default=CoordinatorStatus.ACTIVE, db_index=True)
    guardrails = models.JSONField(null=True, blank=True)
    heartbeat_interval_seconds = models.PositiveIntegerField(default=60)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["intent"], condition=Q(status__in=["active", "paused", "unresponsive"]) & Q(intent__isnull=False),
                name="coordinator_one_held_per_intent",
            ),
            models.UniqueConstraint(
                fields=["portfolio_id"],
                condition=Q(status__in=["active", "paused", "unresponsive"]) & Q(portfolio_id__isnull=False) & Q(intent__isnull=True),
                name="coordinator_one_held_per_portfolio",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} coordinates {self.intent_id or self.portfolio_id} ({self.status})"


class DecisionType(models.TextChoices):
    PLAN_CREATED = "plan_created"
    PLAN_MODIFIED = "plan_modified"
    TASK_ASSIGNED = "task_assigned"
    TASK_DELEGATED = "task_delegated"
    ESCALATION_INITIATED = "escalation_initiated"
    ESCALATION_RESOLVED = "escalation_resolved"
    CHECKPOINT_EVALUATED = "checkpoint_evaluated"
    FAILURE_HANDLED = "failure_handled"
    GUARDRAIL_APPROACHED = "guardrail_approached"
    COORDINATOR_HANDOFF = "coordinator_handoff"


class DecisionRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    coordinator_id = models.CharField(max_length=200)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="decision_records")
    decision_type = models.CharField(max_length=32, choices=DecisionType.choices)
    summary = models.TextField()
    rationale = models.TextField()
    alternatives_considered = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-timestamp"]

    def __str__(self) -> str:
        return f"{self.decision_type}: {self.summary[:60]}"


class EscalationStatus(models.TextChoices):
    PENDING = "pending"
    RESOLVED = "resolved"


class Escalation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="escalations")
    escalated_by = models.CharField(max_length=200)
    reason = models.TextField()
    priority = models.CharField(max_length=32, default="medium")
    urgency = models.CharField(max_length=32, default="medium")
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, null=True, blank=True)
    resolution = models.TextField(null=True, blank=True)
    resolution_notes = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reason[:80]


class Approval(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="approvals")
    requested_by = models.CharField(max_length=200)
    action = models.CharField(max_length=500)
    reason = models.TextField(blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=DecisionStatus.choices, default=DecisionStatus.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, null=True, blank=True)
    decision_notes = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["intent", "action", "status"], name="approval_gate")]

    def __str__(self) -> str:
        return f"{self.action} ({self.status})"


class GovernedIntent(Intent):
    """An admin view of intents and their governance policy (13 §5)."""

    class Meta:
        proxy = True
        verbose_name = "governance policy"
        verbose_name_plural = "governance policies"
