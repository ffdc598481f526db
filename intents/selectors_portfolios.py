"""Reads for portfolios (RFC-0007, 07): member ids, aggregates, lists."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Iterable

from django.db.models import Count

from .models import Intent, IntentStatus, Portfolio, PortfolioMembership
from .services.core import _as_uuid


def portfolio_intent_ids(portfolio_id: Any) -> list[uuid.UUID]:
    """Ids of the portfolio's member intents, in ``added_at`` order ([] for an unknown id).
    The portfolio streams (06) select their events with this."""
    pk = _as_uuid(portfolio_id)
    if pk is None:
        return []
    return list(
        PortfolioMembership.objects.filter(portfolio_id=pk).order_by("added_at", "id").values_list("intent_id", flat=True)
    )


def aggregate_from_counts(by_status: dict[str, int]) -> dict:
    """``{total, by_status, completion_percentage}`` as the graph aggregate of 02, plus the
    RFC-0026 suspended-member fields (07, MAY)."""
    total = sum(by_status.values())
    completed = by_status.get(IntentStatus.COMPLETED, 0)
    suspended = by_status.get(IntentStatus.SUSPENDED_AWAITING_INPUT, 0)
    return {
        "total": total,
        "by_status": dict(by_status),
        "completion_percentage": int(completed / total * 100) if total else 0,
        "has_suspended_members": suspended > 0,
        "suspended_member_count": suspended,
    }


def portfolio_aggregates(portfolio_ids: Iterable[Any]) -> dict[uuid.UUID, dict]:
    """Aggregate status of many portfolios in one grouped query."""
    ids = list(portfolio_ids)
    counts: dict = defaultdict(dict)
    rows = (
        PortfolioMembership.objects.filter(portfolio_id__in=ids)
        .values_list("portfolio_id", "intent__status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for portfolio_id, status, n in rows:
        counts[portfolio_id][status] = n
    return {pk: aggregate_from_counts(counts.get(pk, {})) for pk in ids}


def with_aggregates(portfolios: Iterable[Portfolio]) -> list[Portfolio]:
    portfolios = list(portfolios)
    aggregates = portfolio_aggregates(p.pk for p in portfolios)
    for portfolio in portfolios:
        portfolio.aggregate_status = aggregates[portfolio.pk]
    return portfolios


def portfolio_list(*, created_by: str | None = None) -> list[Portfolio]:
    queryset = Portfolio.objects.order_by("created_at", "id")
    if created_by:
        queryset = queryset.filter(created_by=created_by)
    return with_aggregates(queryset)


def portfolio_member_intents(portfolio_id: Any) -> list[Intent]:
    """Member intents in ``added_at`` order, each once (an unknown portfolio has none)."""
    pk = _as_uuid(portfolio_id)
    if pk is None:
        return []
    return list(
        Intent.objects.filter(portfolio_memberships__portfolio_id=pk).order_by(
            "portfolio_memberships__added_at", "portfolio_memberships__id"
        )
    )


def intent_portfolios(intent_id: Any) -> list[Portfolio]:
    pk = _as_uuid(intent_id)
    if pk is None:
        return []
    return with_aggregates(Portfolio.objects.filter(memberships__intent_id=pk).order_by("created_at", "id"))
