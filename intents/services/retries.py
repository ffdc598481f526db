"""Retry policies, failure records and the fallback re-assignment (RFC-0010, 10).

Policies and failures are records: clients compute their own retry delays. The server does
one thing on its own (README §0.4): once an agent's failures on an intent reach the
policy's ``failure_threshold``, it releases that agent's leases there and assigns the
policy's ``fallback_agent_id``, once per (intent, failing agent). A Celery task enqueued on
commit of each failure does it; a beat sweep catches any the task missed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from openintent_project.api.principal import SYSTEM, Principal
from openintent_project.errors import Forbidden, GovernanceViolation, NotFound

from .. import access
from ..access import Permission
from ..models import FailureRecord, FallbackHandoff, Intent, RetryPolicy
from ..models.retries import FallbackStatus
from .core import _as_uuid, agent_assign, governance_violation_record, intent_get, intent_lock
from .leases import leases_release_for_agent_on_intent

logger = logging.getLogger(__name__)

NO_POLICY = "No retry policy set"
FALLBACK_ROLE = "fallback"
POLICY_DEFAULTS = {
    "max_retries": 3,
    "base_delay_ms": 1000,
    "max_delay_ms": 60000,
    "jitter": True,
    "fallback_agent_id": None,
    "failure_threshold": 3,
}


# --- policy -------------------------------------------------------------------------------

@transaction.atomic
def retry_policy_set(*, principal: Principal, intent_id: Any, strategy: str, **fields: Any) -> RetryPolicy:
    """Upsert with replace semantics (10): fields not given return to their defaults; ``id``
    and ``created_at`` are kept. Needs admin on the intent (11 §2). No event."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.ADMIN)
    values = {**POLICY_DEFAULTS, **{k: v for k, v in fields.items() if k in POLICY_DEFAULTS}, "strategy": strategy}
    now = timezone.now()
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is None:
        policy = RetryPolicy.objects.create(intent=intent, created_at=now, updated_at=now, **values)
    else:
        for key, value in values.items():
            setattr(policy, key, value)
        policy.updated_at = now
        policy.save()
    return policy


def retry_policy_get(*, principal: Principal, intent_id: Any) -> RetryPolicy:
    """404 ``No retry policy set`` when there is no policy *or no intent* (10): the official
    client maps that 404 to None."""
    intent = intent_get(intent_id, message=NO_POLICY)
    access.require_permission(principal, intent, Permission.READ)
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is None:
        raise NotFound(NO_POLICY)
    return policy


# --- failures -------------------------------------------------------------------------------

@transaction.atomic
def failure_record(
    *,
    principal: Principal,
    intent_id: Any,
    attempt_number: int = 1,
    agent_id: str | None = None,
    error_type: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    retry_scheduled_at: datetime | None = None,
    metadata: dict | None = None,
) -> FailureRecord:
    """Append a failure (10). ``error_type``/``error_code``: when only one is given it is
    copied into the other. The record changes nothing else; after commit it may start the
    fallback re-assignment."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    failure = FailureRecord.objects.create(
        intent=intent,
        agent_id=agent_id,
        error_type=error_type if error_type is not None else error_code,
        error_code=error_code if error_code is not None else error_type,
        error_message=error_message,
        attempt_number=attempt_number,
        retry_scheduled_at=retry_scheduled_at,
        metadata=metadata or {},
    )
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is not None and _fallback_due(intent, policy, agent_id):
        from ..tasks import retry_fallback_task

        intent_pk = str(intent.pk)
        transaction.on_commit(lambda: retry_fallback_task.delay(intent_pk, agent_id))
    return failure


def failure_list(*, principal: Principal, intent_id: Any, limit: int | None = None) -> list[FailureRecord]:
    """Oldest first; an unknown intent has none (10). ``limit`` (the MCP client's) keeps the
    first ``limit`` records."""
    pk = _as_uuid(intent_id)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is None:
        return []
    access.require_permission(principal, intent, Permission.READ)
    queryset = FailureRecord.objects.filter(intent=intent).order_by("occurred_at", "id")
    return list(queryset[:limit] if limit is not None else queryset)


# --- fallback re-assignment ----------------------------------------------------------------

def _fallback_applies(policy: RetryPolicy, agent_id: str | None) -> bool:
    return bool(policy.fallback_agent_id) and bool(agent_id) and agent_id != policy.fallback_agent_id


def _fallback_due(intent: Intent, policy: RetryPolicy, agent_id: str | None) -> bool:
    """Cheap pre-check before enqueueing; the task re-checks everything under the lock."""
    if not _fallback_applies(policy, agent_id):
        return False
    if FailureRecord.objects.filter(intent=intent, agent_id=agent_id).count() < policy.failure_threshold:
        return False
    return not FallbackHandoff.objects.filter(intent=intent, failing_agent_id=agent_id).exists()


def retry_fallback_apply(*, intent_id: Any, failing_agent_id: str) -> FallbackHandoff | None:
    """Hand the intent to the policy's fallback agent when ``failing_agent_id`` has at least
    ``failure_threshold`` failures on it (10). One transaction: release the failing agent's
    active leases there (``lease_released`` reason ``fallback``, actor ``system``) and assign
    the fallback agent through the normal assignment path (``agent_assigned`` role
    ``fallback``, governance ``assign`` check included). Idempotent: once per (intent,
    failing agent). Returns the hand-off row, or None when nothing (more) is due.

    When governance or access control refuses the assignment, everything rolls back, the
    violation event is logged after the rollback, and a ``rejected`` hand-off row records
    that the fallback was tried, so the sweep does not retry it forever."""
    try:
        return _fallback_apply(intent_id=intent_id, failing_agent_id=failing_agent_id)
    except (GovernanceViolation, Forbidden) as refusal:
        if isinstance(refusal, GovernanceViolation) and refusal.violation is not None and not refusal.recorded:
            # agent_assign ran inside *our* transaction, so @governed left the event to us;
            # write it now that the rollback is behind us.
            governance_violation_record(intent_id=intent_id, actor=SYSTEM.id, payload=refusal.violation)
            refusal.recorded = True
        return _record_rejected(intent_id=intent_id, failing_agent_id=failing_agent_id, refusal=refusal)


@transaction.atomic
def _fallback_apply(*, intent_id: Any, failing_agent_id: str) -> FallbackHandoff | None:
    try:
        intent = intent_lock(intent_id)
    except NotFound:
        return None
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is None or not _fallback_applies(policy, failing_agent_id):
        return None
    count = FailureRecord.objects.filter(intent=intent, agent_id=failing_agent_id).count()
    if count < policy.failure_threshold:
        return None
    if FallbackHandoff.objects.filter(intent=intent, failing_agent_id=failing_agent_id).exists():
        return None
    released = leases_release_for_agent_on_intent(intent, agent_id=failing_agent_id, reason="fallback")
    agent_assign(principal=SYSTEM, intent_id=intent.pk, agent_id=policy.fallback_agent_id, role=FALLBACK_ROLE)
    handoff = FallbackHandoff.objects.create(
        intent=intent, failing_agent_id=failing_agent_id, fallback_agent_id=policy.fallback_agent_id,
        failure_count=count, leases_released=released, status=FallbackStatus.APPLIED,
    )
    logger.info(
        "fallback on intent %s: %s → %s after %d failures (%d leases released)",
        intent.pk, failing_agent_id, policy.fallback_agent_id, count, released,
    )
    return handoff


def _record_rejected(*, intent_id: Any, failing_agent_id: str, refusal: Exception) -> FallbackHandoff | None:
    detail = refusal.detail if hasattr(refusal, "detail") else str(refusal)
    try:
        with transaction.atomic():
            intent = intent_lock(intent_id)
            policy = RetryPolicy.objects.filter(intent=intent).first()
            count = FailureRecord.objects.filter(intent=intent, agent_id=failing_agent_id).count()
            handoff = FallbackHandoff.objects.create(
                intent=intent, failing_agent_id=failing_agent_id,
                fallback_agent_id=(policy.fallback_agent_id if policy else "") or "",
                failure_count=count, status=FallbackStatus.REJECTED, detail=str(detail)[:2000],
            )
    except (IntegrityError, NotFound):
        return None
    logger.warning("fallback on intent %s for %s refused: %s", intent_id, failing_agent_id, detail)
    return handoff


def retry_fallback_sweep(*, limit: int = 200) -> int:
    """Apply every due fallback the on-commit task missed (worker down, crash). Candidates
    are (intent, agent) pairs with at least ``failure_threshold`` failures, a fallback agent
    other than themselves, and no hand-off yet; ``retry_fallback_apply`` re-checks each under
    the intent lock. Returns how many hand-offs were made."""
    due = (
        FailureRecord.objects.filter(agent_id__isnull=False, intent__retry_policy__fallback_agent_id__isnull=False)
        .exclude(agent_id="")
        .exclude(intent__retry_policy__fallback_agent_id="")
        .exclude(agent_id=F("intent__retry_policy__fallback_agent_id"))
        .values("intent_id", "agent_id", "intent__retry_policy__failure_threshold")
        .annotate(failures=Count("id"))
        .filter(failures__gte=F("intent__retry_policy__failure_threshold"))
        .order_by()
    )
    done_pairs = set(FallbackHandoff.objects.values_list("intent_id", "failing_agent_id"))
    applied = 0
    for row in due:
        if (row["intent_id"], row["agent_id"]) in done_pairs:
            continue
        handoff = retry_fallback_apply(intent_id=row["intent_id"], failing_agent_id=row["agent_id"])
        if handoff is not None and handoff.status == FallbackStatus.APPLIED:
            applied += 1
        if applied >= limit:
            break
    return applied
