"""Portfolios (RFC-0004 text, RFC-0007; 07): create, status, membership.

Portfolios have no version and write nothing to the intent event log (07). Their stream
frames (``portfolio_created``, ``intent_added``, ``intent_removed``) are never stored: they
are announced after commit through ``portfolio_frame`` for the portfolio streams (06).

Governance policy (RFC-0004 "Governance Policies"), the fields that take effect:
- ``require_all_completed``: the portfolio may only be set ``completed`` when every member
  intent is completed (with ``allow_partial_completion`` abandoned members do not block);
  otherwise 403 with the governance body, rule ``require_all_completed``.
- ``shared_constraints``: inherited by every member intent. When an intent joins, each key
  it does not already have is written into its ``constraints`` (its own keys win); when it
  leaves, what that membership wrote is taken back unless it was changed since, and the
  remaining portfolios' shared constraints fill the gap. Portfolio routes change no intent
  version (README §7); constraints are set at creation only, so no versioned writer of the
  intent can lose this change."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.errors import GovernanceViolation, InvalidInput, NotFound

from .. import access
from ..access import Permission
from ..models import (
    Intent,
    IntentStatus,
    MembershipRole,
    Portfolio,
    PortfolioMembership,
    PortfolioStatus,
)
from ..representations_portfolios import portfolio_dict
from ..selectors_portfolios import aggregate_from_counts
from .core import _as_uuid, intent_lock

PORTFOLIO_NOT_FOUND = "Portfolio not found"
MEMBERSHIP_NOT_FOUND = "Membership not found"

# Sent after commit with portfolio_id (str), event_type and data: the unstored frames of the
# portfolio stream (06). The streams app connects a receiver that wakes portfolio streams.
portfolio_frame = Signal()


def _announce(portfolio_id, event_type: str, data: dict) -> None:
    key = str(portfolio_id)
    transaction.on_commit(
        lambda: portfolio_frame.send(sender=Portfolio, portfolio_id=key, event_type=event_type, data=data)
    )


def _enum(value: str, choices, loc) -> None:
    if value not in choices.values:
        raise InvalidInput.at(loc, f"Input should be one of: {', '.join(choices.values)}", type="enum", input=value)


def _check_policy(policy: dict) -> None:
    """Type-check the policy fields this server acts on; others are stored as given."""
    loc = ("body", "governance_policy")
    for flag in ("require_all_completed", "allow_partial_completion"):
        if flag in policy and not isinstance(policy[flag], bool):
            raise InvalidInput.at((*loc, flag), "Input should be a valid boolean", type="bool_type", input=policy[flag])
    shared = policy.get("shared_constraints")
    if shared is not None and not isinstance(shared, dict):
        raise InvalidInput.at((*loc, "shared_constraints"), "Input should be a valid dictionary", type="dict_type", input=shared)


def portfolio_get(portfolio_id: Any, *, lock: bool = False) -> Portfolio:
    pk = _as_uuid(portfolio_id)
    queryset = Portfolio.objects.select_for_update() if lock else Portfolio.objects
    portfolio = queryset.filter(pk=pk).first() if pk else None
    if portfolio is None:
        raise NotFound(PORTFOLIO_NOT_FOUND)
    return portfolio


@transaction.atomic
def portfolio_create(
    *,
    principal: Principal,
    name: str,
    created_by: str,
    description: str | None = "",
    governance_policy: dict | None = None,
    metadata: dict | None = None,
) -> Portfolio:
    policy = governance_policy or {}
    _check_policy(policy)
    now = timezone.now()
    portfolio = Portfolio.objects.create(
        name=name,
        description=description or "",  # FIX (07): the SDK sends null by default
        created_by=created_by,
        governance_policy=policy,
        metadata=metadata or {},
        created_at=now,
        updated_at=now,
    )
    portfolio.aggregate_status = aggregate_from_counts({})
    _announce(portfolio.pk, "portfolio_created", portfolio_dict(portfolio))
    return portfolio


def _blocking_members(portfolio: Portfolio) -> list[str]:
    """Member intents that keep a ``require_all_completed`` portfolio from completing."""
    allowed = {IntentStatus.COMPLETED}
    if portfolio.governance_policy.get("allow_partial_completion") is True:
        allowed.add(IntentStatus.ABANDONED)
    ids = (
        PortfolioMembership.objects.filter(portfolio=portfolio)
        .exclude(intent__status__in=allowed)
        .order_by("added_at", "id")
        .values_list("intent_id", flat=True)
    )
    return [str(pk) for pk in ids]


@transaction.atomic
def portfolio_set_status(*, principal: Principal, portfolio_id: str, status: str) -> Portfolio:
    """Any transition is allowed (07), except completing against ``require_all_completed``.
    The portfolio row is locked so the check and the write see one membership set."""
    portfolio = portfolio_get(portfolio_id, lock=True)
    _enum(status, PortfolioStatus, ("body", "status"))
    if status == PortfolioStatus.COMPLETED and portfolio.governance_policy.get("require_all_completed") is True:
        blocking = _blocking_members(portfolio)
        if blocking:
            raise GovernanceViolation(
                {
                    "error": "governance_violation",
                    "rule": "require_all_completed",
                    "message": f"Portfolio requires all member intents completed; {len(blocking)} are not",
                    "incomplete_intents": blocking,
                }
            )
    portfolio.status = status
    portfolio.updated_at = timezone.now()
    portfolio.save(update_fields=["status", "updated_at"])
    return portfolio


# --- membership -------------------------------------------------------------------------

def _shared_constraints(portfolio: Portfolio) -> dict:
    shared = (portfolio.governance_policy or {}).get("shared_constraints")
    return shared if isinstance(shared, dict) else {}


def _inherit(intent: Intent, membership: PortfolioMembership) -> bool:
    """Write the portfolio's shared constraints the intent lacks; remember what was written.
    Returns True when the intent's constraints changed. Intent row lock held by the caller."""
    added = {
        key: value
        for key, value in _shared_constraints(membership.portfolio).items()
        if key not in intent.constraints
    }
    if not added:
        return False
    intent.constraints = {**intent.constraints, **added}
    membership.inherited_constraints = {**membership.inherited_constraints, **added}
    membership.save(update_fields=["inherited_constraints"])
    return True


def _save_constraints(intent: Intent) -> None:
    intent.updated_at = timezone.now()
    intent.save(update_fields=["constraints", "updated_at"])


def _membership_dict(membership: PortfolioMembership) -> dict:
    return {
        "portfolio_id": str(membership.portfolio_id),
        "intent_id": str(membership.intent_id),
        "role": membership.role,
        "priority": membership.priority,
    }


@transaction.atomic
def portfolio_add_intent(
    *, principal: Principal, portfolio_id: str, intent_id: str, role: str = MembershipRole.MEMBER, priority: int = 0
) -> PortfolioMembership:
    """Add or update a membership: one per (portfolio, intent); a repeat updates role and
    priority and returns the same membership (07, FIX). Order: 404 portfolio, 404 intent,
    400 role, 403 ACL (write: the intent inherits shared constraints)."""
    portfolio = portfolio_get(portfolio_id)
    intent = intent_lock(intent_id)
    _enum(role, MembershipRole, ("body", "role"))
    access.require_permission(principal, intent, Permission.WRITE)
    # The intent row lock serialises adds of the same intent, so the lookup cannot race.
    membership = PortfolioMembership.objects.filter(portfolio=portfolio, intent=intent).first()
    if membership is None:
        try:
            with transaction.atomic():
                membership = PortfolioMembership.objects.create(
                    portfolio=portfolio, intent=intent, role=role, priority=priority
                )
        except IntegrityError:  # pragma: no cover - only without a working row lock
            membership = PortfolioMembership.objects.get(portfolio=portfolio, intent=intent)
        membership.portfolio = portfolio
        if _inherit(intent, membership):
            _save_constraints(intent)
    if (membership.role, membership.priority) != (role, priority):
        membership.role, membership.priority = role, priority
        membership.save(update_fields=["role", "priority"])
    _announce(portfolio.pk, "intent_added", _membership_dict(membership))
    return membership


@transaction.atomic
def portfolio_remove_intent(*, principal: Principal, portfolio_id: str, intent_id: str) -> None:
    """404 "Membership not found" for an unknown portfolio, intent or membership (07)."""
    pk = _as_uuid(intent_id)
    if pk is None or _as_uuid(portfolio_id) is None:
        raise NotFound(MEMBERSHIP_NOT_FOUND)
    intent = Intent.objects.select_for_update().filter(pk=pk).first()
    membership = (
        PortfolioMembership.objects.filter(portfolio_id=_as_uuid(portfolio_id), intent_id=pk).first()
        if intent
        else None
    )
    if membership is None:
        raise NotFound(MEMBERSHIP_NOT_FOUND)
    access.require_permission(principal, intent, Permission.WRITE)
    frame = _membership_dict(membership)
    inherited = membership.inherited_constraints
    membership.delete()
    constraints = {
        key: value
        for key, value in intent.constraints.items()
        if not (key in inherited and inherited[key] == value)  # changed since: now the intent's own
    }
    changed = constraints != intent.constraints
    intent.constraints = constraints
    # Keys this portfolio had supplied may still be shared by the intent's other portfolios.
    for other in PortfolioMembership.objects.filter(intent=intent).select_related("portfolio").order_by("added_at", "id"):
        changed |= _inherit(intent, other)
    if changed:
        _save_constraints(intent)
    _announce(frame["portfolio_id"], "intent_removed", frame)
