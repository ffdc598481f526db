"""Coordinator leases (RFC-0013, 13 §1): grant, heartbeat, the liveness sweep and failover."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from intents import events
from intents.access import Permission
from intents.models import Intent
from intents.services.core import intent_lock
from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.errors import Conflict, Forbidden, InvalidInput, NotFound, ProtocolError, error_item

from ..models import HELD_STATUSES, CoordinatorLease, CoordinatorStatus
from .access import require
from .review import _escalate

LEASE_NOT_FOUND = "Coordinator lease not found"
LEASE_HELD = "Coordinator lease already held for this intent"


class Gone(ProtocolError):
    status_code = 410


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def portfolio_exists(portfolio_id: uuid.UUID) -> bool:
    """Portfolios are built by another helper (intents.models.portfolios.Portfolio); until
    they land every portfolio id is unknown."""
    try:
        from intents.models.portfolios import Portfolio  # type: ignore[import-not-found]
    except ImportError:
        return False
    return Portfolio.objects.filter(pk=portfolio_id).exists()


GUARDRAIL_NUMBERS = ("max_budget_usd",)
GUARDRAIL_INTEGERS = (
    "warn_at_percentage", "max_tasks_per_plan", "max_delegation_depth", "max_concurrent_tasks", "max_plan_versions",
    "max_plan_duration_hours", "max_task_wait_hours", "checkpoint_timeout_hours", "require_progress_every_minutes",
    "auto_escalate_after_failures", "max_working_memory_per_task", "max_episodic_memory_per_agent",
)
GUARDRAIL_BOOLS = ("requires_plan_review", "requires_replan_review", "memory_archive_required")
GUARDRAIL_LISTS = ("allowed_capabilities", "require_human_for_capabilities", "allowed_semantic_namespaces",
                   "denied_semantic_namespaces")
ON_EXCEED = ("pause_and_escalate", "pause", "escalate", "fail")


def guardrails_validate(guardrails: dict | None) -> None:
    """400 for guardrail values the SDK model could not hold (13 §1); unknown keys are kept."""
    if not guardrails:
        return
    items = []

    def bad(key, msg):
        items.append(error_item(("body", "guardrails", key), msg, input=guardrails.get(key)))

    for key in GUARDRAIL_NUMBERS:
        v = guardrails.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            bad(key, f"{key} must be a non-negative number")
    for key in GUARDRAIL_INTEGERS:
        v = guardrails.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            bad(key, f"{key} must be a non-negative integer")
    for key in GUARDRAIL_BOOLS:
        if key in guardrails and not isinstance(guardrails[key], bool):
            bad(key, f"{key} must be a boolean")
    for key in GUARDRAIL_LISTS:
        v = guardrails.get(key)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
            bad(key, f"{key} must be a list of strings")
    if "on_exceed" in guardrails and guardrails["on_exceed"] not in ON_EXCEED:
        bad("on_exceed", f"on_exceed must be one of: {', '.join(ON_EXCEED)}")
    if items:
        raise InvalidInput(items)


@transaction.atomic
def coordinator_lease_create(
    *, principal: Principal, agent_id: str, intent_id: str | None = None, portfolio_id: str | None = None,
    role: str = "coordinator", supervisor_id: str | None = None, coordinator_type: str = "llm",
    scope: str = "intent", guardrails: dict | None = None, heartbeat_interval_seconds: int = 60,
    expires_at: datetime | None = None, metadata: dict | None = None,
) -> CoordinatorLease:
    guardrails_validate(guardrails)
    intent = None
    portfolio_pk = None
    if intent_id:
        intent = intent_lock(intent_id)
        require(principal, intent, Permission.ADMIN)
    if portfolio_id:
        portfolio_pk = _uuid(portfolio_id)
        if portfolio_pk is None or not portfolio_exists(portfolio_pk):
            raise NotFound("Portfolio not found")
    held = CoordinatorLease.objects.select_for_update().filter(status__in=HELD_STATUSES)
    if intent is not None:
        held = held.filter(intent=intent)
    elif portfolio_pk is not None:
        held = held.filter(portfolio_id=portfolio_pk, intent__isnull=True)
    else:
        held = held.none()
    for lease in held:
        if lease.agent_id != agent_id:
            raise Conflict(LEASE_HELD)
        lease.status = CoordinatorStatus.COMPLETED
        lease.version += 1
        lease.save(update_fields=["status", "version"])
    try:
        with transaction.atomic():
            return CoordinatorLease.objects.create(
                intent=intent, portfolio_id=portfolio_pk, agent_id=agent_id, role=role or "coordinator",
                supervisor_id=supervisor_id, coordinator_type=coordinator_type, scope=scope, guardrails=guardrails,
                heartbeat_interval_seconds=heartbeat_interval_seconds, expires_at=expires_at, metadata=metadata or {},
            )
    except IntegrityError:
        raise Conflict(LEASE_HELD) from None


def coordinator_lease_get(*, principal: Principal, lease_id: str) -> CoordinatorLease:
    pk = _uuid(lease_id)
    lease = CoordinatorLease.objects.filter(pk=pk).first() if pk else None
    if lease is None:
        raise NotFound(LEASE_NOT_FOUND)
    if lease.intent_id:
        require(principal, lease.intent, Permission.READ)
    return lease


def coordinator_lease_list(*, principal: Principal, intent_id: str) -> list[CoordinatorLease]:
    pk = _uuid(intent_id)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is None:
        return []  # REF: [] for an unknown intent
    require(principal, intent, Permission.READ)
    return list(CoordinatorLease.objects.filter(intent=intent).order_by("granted_at"))


@transaction.atomic
def coordinator_heartbeat(*, principal: Principal, lease_id: str, payload: dict | None = None) -> dict:
    pk = _uuid(lease_id)
    intent_pk = CoordinatorLease.objects.filter(pk=pk).values_list("intent_id", flat=True).first() if pk else None
    if pk is None or not CoordinatorLease.objects.filter(pk=pk).exists():
        raise NotFound(LEASE_NOT_FOUND)
    intent = intent_lock(intent_pk) if intent_pk else None
    lease = CoordinatorLease.objects.select_for_update().get(pk=pk)
    if not principal.may_act_for(lease.agent_id):
        raise Forbidden(f"Principal may not act for agent '{lease.agent_id}'")
    if lease.status in (CoordinatorStatus.FAILED_OVER, CoordinatorStatus.COMPLETED):
        raise Gone(f"Coordinator lease is {lease.status}")
    now = timezone.now()
    lease.last_heartbeat = now
    fields = ["last_heartbeat"]
    if payload:
        lease.metadata = {**(lease.metadata or {}), "last_heartbeat_payload": payload}
        fields.append("metadata")
    if lease.status == CoordinatorStatus.UNRESPONSIVE:
        lease.status = CoordinatorStatus.ACTIVE
        lease.version += 1
        fields += ["status", "version"]
        if intent is not None:
            events.record(intent, "coordinator.resumed", events.SYSTEM_ACTOR, {
                "coordinator_id": lease.agent_id, "lease_id": str(lease.pk), "resumed_by": "system",
                "reason": "heartbeat_resumed",
            })
    lease.save(update_fields=fields)
    return {"status": "ok", "next_heartbeat_at": format_timestamp(now + timedelta(seconds=lease.heartbeat_interval_seconds))}


# --- liveness sweep and failover (13 §1) ---------------------------------------------------------

def _agent_is_active(agent_id: str) -> bool:
    """A failover candidate may take the lease unless the registry (16) knows it as anything
    but active (registration is optional, so an unknown agent is eligible)."""
    from agents_registry.models import AgentRecord, AgentStatus

    status = AgentRecord.objects.filter(agent_id=agent_id).values_list("status", flat=True).first()
    return status in (None, AgentStatus.ACTIVE)


def _fail_over(lease: CoordinatorLease, intent: Intent | None) -> None:
    """Mark ``lease`` failed over (caller holds the locks), escalate, and grant the first
    active agent of ``metadata.failover_pool`` a new lease."""
    lease.status = CoordinatorStatus.FAILED_OVER
    lease.version += 1
    lease.save(update_fields=["status", "version"])
    new_agent = None
    for candidate in (lease.metadata or {}).get("failover_pool") or []:
        if isinstance(candidate, str) and candidate != lease.agent_id and _agent_is_active(candidate):
            new_agent = candidate
            break
    if new_agent is not None:
        CoordinatorLease.objects.create(
            intent=lease.intent, portfolio_id=lease.portfolio_id, agent_id=new_agent, role=lease.role,
            supervisor_id=lease.supervisor_id, coordinator_type=lease.coordinator_type, scope=lease.scope,
            guardrails=lease.guardrails, heartbeat_interval_seconds=lease.heartbeat_interval_seconds,
            metadata={k: v for k, v in (lease.metadata or {}).items() if k == "failover_pool"},
        )
    if intent is not None:
        events.record(intent, "coordinator.failed_over", events.SYSTEM_ACTOR, {
            "old_coordinator_id": lease.agent_id, "new_coordinator_id": new_agent,
            "state_transferred": new_agent is not None,
        })
        _escalate(intent, escalated_by=events.SYSTEM_ACTOR, priority="high",
                  reason=f"Coordinator '{lease.agent_id}' failed over",
                  context={"lease_id": str(lease.pk), "supervisor_id": lease.supervisor_id})


def _claim(pk) -> CoordinatorLease | None:
    qs = CoordinatorLease.objects.filter(pk=pk)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    else:
        qs = qs.select_for_update()
    return qs.first()


def coordinator_sweep(*, now: datetime | None = None) -> int:
    """One pass of the liveness sweep. Each lease in its own transaction; it changes only if
    its status is still the one read, so overlapping runs never act twice."""
    now = now or timezone.now()
    changed = 0
    candidates = CoordinatorLease.objects.filter(
        status__in=[CoordinatorStatus.ACTIVE, CoordinatorStatus.UNRESPONSIVE, CoordinatorStatus.REGISTERING]
    ).values_list("pk", "intent_id", "status")
    for pk, intent_pk, seen_status in list(candidates):
        with transaction.atomic():
            intent = Intent.objects.select_for_update().filter(pk=intent_pk).first() if intent_pk else None
            lease = _claim(pk)
            if lease is None or lease.status != seen_status:
                continue
            if lease.expires_at and lease.expires_at <= now:
                lease.status = CoordinatorStatus.COMPLETED
                lease.version += 1
                lease.save(update_fields=["status", "version"])
                changed += 1
                continue
            interval = max(1, lease.heartbeat_interval_seconds)
            silence = (now - (lease.last_heartbeat or lease.granted_at)).total_seconds()
            if lease.status == CoordinatorStatus.ACTIVE and silence > 2 * interval:
                lease.status = CoordinatorStatus.UNRESPONSIVE
                lease.version += 1
                lease.save(update_fields=["status", "version"])
                if intent is not None:
                    events.record(intent, "coordinator.unresponsive", events.SYSTEM_ACTOR, {
                        "coordinator_id": lease.agent_id, "lease_id": str(lease.pk),
                        "last_heartbeat": format_timestamp(lease.last_heartbeat) if lease.last_heartbeat else None,
                        "missed_count": math.floor(silence / interval),
                    })
                changed += 1
            elif lease.status == CoordinatorStatus.UNRESPONSIVE and silence > 5 * interval:
                _fail_over(lease, intent)
                changed += 1
    return changed


def coordinator_failover_for_agent(*, agent_id: str) -> int:
    """Fail over every held coordinator lease of a dead agent (16). Joins the caller's
    transaction when there is one (the agent-health sweep), else runs in its own."""
    count = 0
    with transaction.atomic():
        for pk, intent_pk in list(
            CoordinatorLease.objects.filter(agent_id=agent_id, status__in=HELD_STATUSES).values_list("pk", "intent_id")
        ):
            intent = Intent.objects.select_for_update().filter(pk=intent_pk).first() if intent_pk else None
            lease = CoordinatorLease.objects.select_for_update().filter(pk=pk, status__in=HELD_STATUSES).first()
            if lease is None:
                continue
            _fail_over(lease, intent)
            count += 1
    return count




# --- guardrail: require_progress_every_minutes (13 §6) -------------------------------------------

def coordinator_stall_sweep(*, now: datetime | None = None) -> int:
    """Flag active leases whose intent saw no non-``system`` event for
    ``guardrails.require_progress_every_minutes``: ``coordinator.stalled`` and one escalation,
    once per stall (the stall start is remembered in ``metadata.stalled_since``)."""
    from intents.models import Event

    now = now or timezone.now()
    flagged = 0
    leases = CoordinatorLease.objects.filter(status=CoordinatorStatus.ACTIVE, intent__isnull=False,
                                             guardrails__isnull=False).values_list("pk", "intent_id", "guardrails")
    for pk, intent_pk, guardrails in list(leases):
        minutes = (guardrails or {}).get("require_progress_every_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
            continue
        with transaction.atomic():
            intent = Intent.objects.select_for_update().filter(pk=intent_pk).first()
            lease = _claim(pk)
            if intent is None or lease is None or lease.status != CoordinatorStatus.ACTIVE:
                continue
            last = (Event.objects.filter(intent=intent).exclude(actor=events.SYSTEM_ACTOR)
                    .order_by("-sequence").values_list("created_at", flat=True).first())
            progress_at = max(last, lease.granted_at) if last else lease.granted_at
            if now - progress_at <= timedelta(minutes=minutes):
                continue
            since = format_timestamp(progress_at)
            if (lease.metadata or {}).get("stalled_since") == since:
                continue  # already flagged for this stall
            lease.metadata = {**(lease.metadata or {}), "stalled_since": since}
            lease.save(update_fields=["metadata"])
            events.record(intent, "coordinator.stalled", events.SYSTEM_ACTOR, {
                "coordinator_id": lease.agent_id, "lease_id": str(lease.pk), "stalled_since": since, "minutes": minutes,
            })
            _escalate(intent, escalated_by=events.SYSTEM_ACTOR, priority="high",
                      reason=f"Coordinator '{lease.agent_id}' made no progress for {minutes} minutes",
                      context={"lease_id": str(lease.pk), "supervisor_id": lease.supervisor_id, "stalled_since": since})
            flagged += 1
    return flagged


# --- guardrail: max_budget_usd (13 §6) ----------------------------------------------------------

def current_coordinator_lease(intent: Intent) -> CoordinatorLease | None:
    """The intent's held coordinator lease (a portfolio-scope lease is looked up by the
    integrator once portfolios exist)."""
    return CoordinatorLease.objects.filter(intent=intent, status__in=HELD_STATUSES).order_by("-granted_at").first()


def coordinator_budget_check(*, intent: Intent, previous_usd_total: float, new_usd_total: float) -> str | None:
    """Apply ``max_budget_usd``/``on_exceed`` after a USD cost was recorded (the cost is kept).
    Called by the cost service inside its transaction, with the intent row locked. Fires once,
    when the total crosses the limit; returns the action taken (or None)."""
    lease = current_coordinator_lease(intent)
    guardrails = (lease.guardrails or {}) if lease else {}
    limit = guardrails.get("max_budget_usd")
    if lease is None or isinstance(limit, bool) or not isinstance(limit, (int, float)):
        return None
    if not (previous_usd_total <= limit < new_usd_total):
        return None
    action = guardrails.get("on_exceed") or "pause_and_escalate"
    if action in ("pause", "pause_and_escalate") and lease.status == CoordinatorStatus.ACTIVE:
        lease.status = CoordinatorStatus.PAUSED
        lease.version += 1
        lease.save(update_fields=["status", "version"])
        events.record(intent, "coordinator.paused", events.SYSTEM_ACTOR, {
            "coordinator_id": lease.agent_id, "paused_by": "system", "reason": "budget_exceeded",
        })
    if action in ("escalate", "pause_and_escalate"):
        _escalate(intent, escalated_by=events.SYSTEM_ACTOR, priority="high",
                  reason=f"Budget of {limit} USD exceeded ({new_usd_total} USD)",
                  context={"lease_id": str(lease.pk), "supervisor_id": lease.supervisor_id,
                           "max_budget_usd": limit, "total_usd": new_usd_total})
    if action == "fail" and intent.status != "abandoned":
        intent.status = "abandoned"
        intent.version += 1
        intent.updated_at = timezone.now()
        intent.save(update_fields=["status", "version", "updated_at"])
        events.record(intent, "status_changed", events.SYSTEM_ACTOR, {
            "status": "abandoned", "version": intent.version, "reason": "budget_exceeded",
        })
    return action
