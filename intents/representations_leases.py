"""Wire shapes of leases (03), cost records (09), retry policies and failures (10), built by
hand like ``representations.py`` (the protocol's timestamp format, exact keys)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from openintent_project.api.timestamps import format_timestamp as ts

from .models import CostRecord, FailureRecord, Lease, RetryPolicy


def lease_dict(lease: Lease, now: datetime | None = None) -> dict:
    acquired = ts(lease.acquired_at)
    return {
        "id": str(lease.id),
        "intent_id": str(lease.intent_id),
        "agent_id": lease.agent_id,
        "scope": lease.scope,
        "acquired_at": acquired,
        "expires_at": ts(lease.expires_at),
        "released_at": ts(lease.released_at),
        # FIX (03): computed at serialisation, so an expired lease reads as gone at once.
        "status": lease.status_at(now or timezone.now()),
        # Additive: the official client's IntentLease reads created_at (or acquired_at).
        "created_at": acquired,
    }


def cost_dict(cost: CostRecord) -> dict:
    return {
        "id": str(cost.id),
        "intent_id": str(cost.intent_id),
        "agent_id": cost.agent_id,
        "cost_type": cost.cost_type,
        "amount": float(cost.amount),
        "unit": cost.unit,
        "provider": cost.provider,
        # REF name and FIX alias (09): the same object under both keys.
        "cost_metadata": cost.metadata,
        "metadata": cost.metadata,
        "recorded_at": ts(cost.recorded_at),
        # The official client's IntentCost reads only camelCase recordedAt (09, gaps).
        "recordedAt": ts(cost.recorded_at),
    }


def retry_policy_dict(policy: RetryPolicy) -> dict:
    created, updated = ts(policy.created_at), ts(policy.updated_at)
    return {
        "id": str(policy.id),
        "intent_id": str(policy.intent_id),
        "strategy": policy.strategy,
        "max_retries": policy.max_retries,
        "base_delay_ms": policy.base_delay_ms,
        "max_delay_ms": policy.max_delay_ms,
        "jitter": policy.jitter,
        "fallback_agent_id": policy.fallback_agent_id,
        "failure_threshold": policy.failure_threshold,
        "created_at": created,
        "updated_at": updated,
        # The official client's RetryPolicy reads only the camelCase names (10).
        "createdAt": created,
        "updatedAt": updated,
    }


def failure_dict(failure: FailureRecord) -> dict:
    occurred = ts(failure.occurred_at)
    retry_at = ts(failure.retry_scheduled_at)
    resolved = ts(failure.resolved_at)
    return {
        "id": str(failure.id),
        "intent_id": str(failure.intent_id),
        "agent_id": failure.agent_id,
        "error_type": failure.error_type,
        "error_code": failure.error_code,
        "error_message": failure.error_message,
        "attempt_number": failure.attempt_number,
        "retry_scheduled_at": retry_at,
        "resolved_at": resolved,
        "metadata": failure.metadata,
        "occurred_at": occurred,
        "created_at": occurred,
        # The official client's IntentFailure reads the timestamps only in camelCase (10).
        "createdAt": occurred,
        "retryScheduledAt": retry_at,
        "resolvedAt": resolved,
    }
