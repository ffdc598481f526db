"""Arbitration and decisions (RFC-0003 governance part, 04), decision records, escalations and
approvals (RFC-0013, 13 §2-§4). API views, review screens, admin actions and sweeps all call
these functions."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from intents import events
from intents.access import Permission
from intents.models import Intent
from intents.services.core import intent_lock
from openintent_project.api.principal import Principal
from openintent_project.errors import Conflict, InvalidInput, NotFound

from ..models import (
    Approval,
    Arbitration,
    ArbitrationStatus,
    Decision,
    DecisionRecord,
    DecisionStatus,
    DecisionType,
    Escalation,
    EscalationStatus,
)
from .access import intent_for_read, readable_intent_filter, require


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# --- arbitration and decisions (04) -------------------------------------------------------

@transaction.atomic
def arbitration_request(
    *, principal: Principal, intent_id: str, reason: str, requested_by: str | None = None,
    context: dict | None = None, options: list | None = None, priority: str = "medium",
) -> Arbitration:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    requester = requested_by or principal.id
    payload: dict[str, Any] = {"reason": reason, "context": context or {}}
    if options is not None:
        payload["options"] = options
    event = events.record(intent, "arbitration_requested", requester, payload)
    return Arbitration.objects.create(
        id=event.uuid, intent=intent, requested_by=requester, reason=reason, context=context or {},
        options=options, priority=priority or "medium", created_at=event.created_at,
    )


@transaction.atomic
def decision_record(
    *, principal: Principal, intent_id: str, decision_type: str, outcome: Any, decided_by: str | None = None,
    rationale: str = "", arbitration_id: str | None = None, extra: dict | None = None,
) -> Decision:
    """Record an RFC-0003 decision; one that cites a pending arbitration decides it."""
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    decider = decided_by or principal.id
    arbitration = None
    if arbitration_id:
        pk = _uuid(arbitration_id)
        arbitration = Arbitration.objects.select_for_update().filter(pk=pk, intent=intent).first() if pk else None
    payload: dict[str, Any] = {"decision_type": decision_type, "outcome": outcome, "rationale": rationale}
    if arbitration_id:
        payload["arbitration_id"] = str(arbitration_id)
    payload.update(extra or {})
    event = events.record(intent, "decision_recorded", decider, payload)
    decision = Decision.objects.create(
        id=event.uuid, intent=intent, arbitration=arbitration, decision_type=decision_type, outcome=outcome,
        decided_by=decider, rationale=rationale or "", extra=extra or {}, created_at=event.created_at,
    )
    if arbitration is not None and arbitration.status == ArbitrationStatus.PENDING:
        arbitration.status = ArbitrationStatus.DECIDED
        arbitration.save(update_fields=["status"])
    return decision


def arbitration_list(*, principal: Principal, intent_id: str) -> list[Arbitration]:
    intent = intent_for_read(principal, intent_id)
    return list(Arbitration.objects.filter(intent=intent).order_by("-created_at"))


def decision_list(*, principal: Principal, intent_id: str, limit: int = 50) -> tuple[list[Decision], list[DecisionRecord]]:
    intent = intent_for_read(principal, intent_id)
    return (
        list(Decision.objects.filter(intent=intent).order_by("-created_at")[:limit]),
        list(DecisionRecord.objects.filter(intent=intent).order_by("-timestamp")[:limit]),
    )


# --- RFC-0013 decision records (13 §2) ---------------------------------------------------------

@transaction.atomic
def decision_record_create(
    *, principal: Principal, coordinator_id: str, intent_id: str, decision_type: str, summary: str,
    rationale: str, alternatives_considered: list | None = None, confidence: float | None = None,
) -> DecisionRecord:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.WRITE)
    if decision_type not in DecisionType.values:
        raise InvalidInput.at(("body", "decision_type"), f"Input should be one of: {', '.join(DecisionType.values)}",
                              type="enum", input=decision_type)
    record = DecisionRecord.objects.create(
        coordinator_id=coordinator_id, intent=intent, decision_type=decision_type, summary=summary,
        rationale=rationale, alternatives_considered=alternatives_considered or [], confidence=confidence,
    )
    events.record(intent, "coordinator.decision", principal.id, {
        "decision_id": str(record.pk), "coordinator_id": coordinator_id, "decision_type": decision_type,
        "summary": summary, "rationale": rationale, "confidence": confidence,
    })
    return record


def decision_record_list(*, principal: Principal, intent_id: str, limit: int = 50) -> list[DecisionRecord]:
    intent = intent_for_read(principal, intent_id)
    return list(DecisionRecord.objects.filter(intent=intent).order_by("-timestamp")[:limit])


# --- escalations (13 §3) ---------------------------------------------------------------------

def _escalate(intent: Intent, *, escalated_by: str, reason: str, priority: str = "medium", urgency: str = "medium",
              context: dict | None = None) -> Escalation:
    """Create an escalation on a locked intent (also used by the coordinator sweep)."""
    esc = Escalation.objects.create(
        intent=intent, escalated_by=escalated_by, reason=reason, priority=priority or "medium",
        urgency=urgency or "medium", context=context or {},
    )
    events.record(intent, "escalation_initiated", escalated_by, {
        "escalation_id": str(esc.pk), "reason": reason, "priority": esc.priority,
    })
    return esc


@transaction.atomic
def escalation_create(
    *, principal: Principal, intent_id: str, reason: str, priority: str = "medium", urgency: str = "medium",
    context: dict | None = None, escalated_by: str | None = None,
) -> Escalation:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.WRITE)
    return _escalate(intent, escalated_by=escalated_by or principal.id, reason=reason, priority=priority,
                     urgency=urgency, context=context)


def escalation_list(*, principal: Principal, intent_id: str | None = None, status: str | None = None) -> list[Escalation]:
    qs = Escalation.objects.order_by("-created_at")
    if intent_id:
        pk = _uuid(intent_id)
        if pk is None:
            return []
        qs = qs.filter(intent_id=pk)
    if status:
        qs = qs.filter(status=status)
    readable = readable_intent_filter(principal)
    if readable is not None:
        qs = qs.filter(intent__in=Intent.objects.filter(readable))
    return list(qs)


@transaction.atomic
def escalation_resolve(
    *, principal: Principal, escalation_id: str, resolution: str, notes: str | None = None, resolved_by: str | None = None,
) -> Escalation:
    pk = _uuid(escalation_id)
    intent_pk = Escalation.objects.filter(pk=pk).values_list("intent_id", flat=True).first() if pk else None
    if intent_pk is None:
        raise NotFound("Escalation not found")
    intent = intent_lock(intent_pk)
    require(principal, intent, Permission.ADMIN)
    esc = Escalation.objects.select_for_update().get(pk=pk)
    if esc.status == EscalationStatus.RESOLVED:
        raise Conflict("Escalation is already resolved")
    esc.status = EscalationStatus.RESOLVED
    esc.resolved_at = timezone.now()
    esc.resolved_by = resolved_by or principal.id
    esc.resolution = resolution
    esc.resolution_notes = notes
    esc.save(update_fields=["status", "resolved_at", "resolved_by", "resolution", "resolution_notes"])
    events.record(intent, "escalation_resolved", esc.resolved_by, {"escalation_id": str(esc.pk), "resolution": resolution})
    return esc


# --- approvals (13 §4) -----------------------------------------------------------------------

@transaction.atomic
def approval_request(
    *, principal: Principal, intent_id: str, action: str, reason: str = "", context: dict | None = None,
    requested_by: str | None = None,
) -> Approval:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.WRITE)
    return Approval.objects.create(
        intent=intent, requested_by=requested_by or principal.id, action=action, reason=reason or "",
        context=context or {},
    )


def approval_get(*, principal: Principal, intent_id: str, approval_id: str) -> Approval:
    intent = intent_for_read(principal, intent_id)
    pk = _uuid(approval_id)
    approval = Approval.objects.filter(pk=pk, intent=intent).first() if pk else None
    if approval is None:
        raise NotFound("Approval request not found")
    return approval


@transaction.atomic
def approval_decide(
    *, principal: Principal, intent_id: str, approval_id: str, approve: bool, notes: str | None = None,
) -> Approval:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    pk = _uuid(approval_id)
    approval = Approval.objects.select_for_update().filter(pk=pk, intent=intent).first() if pk else None
    if approval is None:
        raise NotFound("Approval request not found")
    verb = "approve" if approve else "deny"
    if approval.status != DecisionStatus.PENDING:
        raise Conflict(f"Approval is already '{approval.status}', cannot {verb}")
    approval.status = DecisionStatus.APPROVED if approve else DecisionStatus.DENIED
    approval.decided_at = timezone.now()
    approval.decided_by = principal.id
    approval.decision_notes = notes
    approval.save(update_fields=["status", "decided_at", "decided_by", "decision_notes"])
    events.record(
        intent, "governance.approval_granted" if approve else "governance.approval_denied", principal.id,
        {"approval_id": str(approval.pk), "action": approval.action,
         "decision": "approved" if approve else "denied", "requested_by": approval.requested_by,
         # 13 §4: the SSE frame adds decided_by; streams render the stored payload (06).
         "decided_by": principal.id},
    )
    return approval


