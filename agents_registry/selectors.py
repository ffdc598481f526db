"""Reads of the agent registry."""

from __future__ import annotations

from .models import AgentRecord, AgentStatus


def agent_list(*, statuses: list[str] | None = None, role_id: str | None = None,
               capabilities: list[str] | None = None, min_available_capacity: int | None = None) -> list[AgentRecord]:
    """GET /agents (16 §2): exact ``status`` (comma list) and ``role_id``; ``capabilities``
    any-of, leaving draining agents out; ``min_available_capacity`` on the advisory
    capacity. Registration order."""
    records = AgentRecord.objects.all().order_by("registered_at", "agent_id")
    if statuses:
        records = records.filter(status__in=statuses)
    if role_id:
        records = records.filter(role_id=role_id)
    records = list(records)
    if capabilities:
        wanted = set(capabilities)
        records = [r for r in records if r.status != AgentStatus.DRAINING and wanted & set(r.capabilities or [])]
    if min_available_capacity is not None:
        def available(r: AgentRecord) -> int | None:
            capacity = r.capacity or {}
            limit = capacity.get("max_concurrent_tasks")
            return None if not isinstance(limit, int) else limit - int(capacity.get("current_load") or 0)
        records = [r for r in records if (available(r) or 0) >= min_available_capacity]
    return records


# --- leases held (RFC-0003) ----------------------------------------------------------------

def _active_leases():
    from django.utils import timezone

    from intents.models import Lease

    return Lease.objects.filter(released_at__isnull=True, expires_at__gt=timezone.now())


def agent_lease_intent_ids(agent_id: str) -> list:
    """Intents where the agent holds an active lease."""
    return list(_active_leases().filter(agent_id=agent_id).values_list("intent_id", flat=True).distinct())


def agent_active_lease_counts(agent_ids: list[str]) -> dict[str, int]:
    """Active leases per agent, for the admin and the drain check (one grouped query)."""
    from django.db.models import Count

    rows = _active_leases().filter(agent_id__in=agent_ids).values("agent_id").annotate(n=Count("id"))
    return {row["agent_id"]: row["n"] for row in rows}
