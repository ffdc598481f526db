"""Wire shapes of governance objects (11, 13, 04), built by hand like intents'."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp as ts

from .models import AccessRequest, AclEntry, Approval, Arbitration, CoordinatorLease, Decision, DecisionRecord, Escalation


def acl_entry_dict(e: AclEntry) -> dict:
    return {
        "id": str(e.id),
        "intent_id": str(e.intent_id),
        "principal_id": e.principal_id,
        "principal_type": e.principal_type,
        "permission": e.permission,
        "granted_by": e.granted_by,
        "granted_at": ts(e.granted_at),
        "expires_at": ts(e.expires_at),
        "reason": e.reason,
    }


def acl_dict(intent_id, default_policy: str, entries) -> dict:
    return {"intent_id": str(intent_id), "default_policy": default_policy, "entries": [acl_entry_dict(e) for e in entries]}


def access_request_dict(r: AccessRequest) -> dict:
    return {
        "id": str(r.id),
        "intent_id": str(r.intent_id),
        "principal_id": r.principal_id,
        "principal_type": r.principal_type,
        "requested_permission": r.requested_permission,
        "reason": r.reason,
        "status": r.status,
        "capabilities": r.capabilities,
        "decided_by": r.decided_by,
        "decided_at": ts(r.decided_at),
        "decision_reason": r.decision_reason,
        "created_at": ts(r.created_at),
    }


def arbitration_dict(a: Arbitration, *, message: bool = False) -> dict:
    body = {"message": "Arbitration requested"} if message else {}
    body.update({
        "status": a.status,
        "id": str(a.id),
        "intent_id": str(a.intent_id),
        "requester_id": a.requested_by,
        "requested_by": a.requested_by,
        "reason": a.reason,
        "context": a.context,
        "created_at": ts(a.created_at),
    })
    if a.options is not None:
        body["options"] = a.options
    return body


def decision_dict(d: Decision, *, message: bool = False) -> dict:
    body = {"message": "Decision recorded"} if message else {}
    body.update({
        "decision_id": str(d.id),
        "id": str(d.id),
        "intent_id": str(d.intent_id),
        "decision_type": d.decision_type,
        "outcome": d.outcome,
        "decided_by": d.decided_by,
        "decision_maker_id": d.decided_by,
        "rationale": d.rationale,
        "reasoning": d.rationale,
        "created_at": ts(d.created_at),
    })
    if d.arbitration_id:
        body["arbitration_id"] = str(d.arbitration_id)
    if not message:
        body["source"] = "intent"
    return body


def decision_record_dict(r: DecisionRecord) -> dict:
    return {
        "id": str(r.id),
        "coordinator_id": r.coordinator_id,
        "intent_id": str(r.intent_id),
        "decision_type": r.decision_type,
        "summary": r.summary,
        "rationale": r.rationale,
        "alternatives_considered": r.alternatives_considered,
        "confidence": r.confidence,
        "timestamp": ts(r.timestamp),
    }


def decision_record_as_decision(r: DecisionRecord) -> dict:
    """An RFC-0013 record in ``GET …/decisions`` with the SDK's aliases (04)."""
    body = decision_record_dict(r)
    body.update({
        "decision_maker_id": r.coordinator_id, "outcome": r.summary, "reasoning": r.rationale,
        "created_at": body["timestamp"], "source": "coordinator",
    })
    return body


def escalation_dict(e: Escalation) -> dict:
    body = {
        "id": str(e.id),
        "intent_id": str(e.intent_id),
        "escalated_by": e.escalated_by,
        "reason": e.reason,
        "priority": e.priority,
        "urgency": e.urgency,
        "context": e.context,
        "status": e.status,
        "created_at": ts(e.created_at),
    }
    for key, value in (("resolved_at", ts(e.resolved_at)), ("resolved_by", e.resolved_by),
                       ("resolution", e.resolution), ("resolution_notes", e.resolution_notes)):
        if value:
            body[key] = value
    return body


def approval_dict(a: Approval) -> dict:
    body = {
        "id": str(a.id),
        "intent_id": str(a.intent_id),
        "requested_by": a.requested_by,
        "action": a.action,
        "reason": a.reason,
        "context": a.context,
        "status": a.status,
        "created_at": ts(a.created_at),
    }
    for key, value in (("decided_at", ts(a.decided_at)), ("decided_by", a.decided_by), ("decision_notes", a.decision_notes)):
        if value is not None:
            body[key] = value
    return body


def coordinator_lease_dict(c: CoordinatorLease) -> dict:
    return {
        "id": str(c.id),
        "intent_id": str(c.intent_id) if c.intent_id else None,
        "portfolio_id": str(c.portfolio_id) if c.portfolio_id else None,
        "agent_id": c.agent_id,
        "role": c.role,
        "supervisor_id": c.supervisor_id,
        "coordinator_type": c.coordinator_type,
        "scope": c.scope,
        "status": c.status,
        "guardrails": c.guardrails,
        "heartbeat_interval_seconds": c.heartbeat_interval_seconds,
        "last_heartbeat": ts(c.last_heartbeat),
        "granted_at": ts(c.granted_at),
        "expires_at": ts(c.expires_at),
        "version": c.version,
        "lease_metadata": c.metadata,
        "metadata": c.metadata,
    }
