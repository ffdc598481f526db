"""Wire shapes of portfolios and memberships (07), built by hand like representations.py."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp as ts

from .models import Portfolio, PortfolioMembership


def portfolio_dict(portfolio: Portfolio) -> dict:
    data = {
        "id": str(portfolio.id),
        "name": portfolio.name,
        "description": portfolio.description,
        "created_by": portfolio.created_by,
        "status": portfolio.status,
        "governance_policy": portfolio.governance_policy,
        "metadata": portfolio.metadata,
        "created_at": ts(portfolio.created_at),
        "updated_at": ts(portfolio.updated_at),
    }
    aggregate = getattr(portfolio, "aggregate_status", None)
    if aggregate is not None:
        data["aggregate_status"] = aggregate
        # RFC-0026 (07, MAY), at the top level as the RFC names them.
        data["has_suspended_members"] = aggregate["has_suspended_members"]
        data["suspended_member_count"] = aggregate["suspended_member_count"]
    return data


def membership_dict(membership: PortfolioMembership) -> dict:
    key = str(membership.id)
    return {
        # REF's two keys, then the membership object the SDK parses (07, FIX superset).
        "message": "Intent added to portfolio",
        "membership_id": key,
        "id": key,
        "portfolio_id": str(membership.portfolio_id),
        "intent_id": str(membership.intent_id),
        "role": membership.role,
        "priority": membership.priority,
        "added_at": ts(membership.added_at),
    }
