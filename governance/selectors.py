"""Reads for the arbitrators' review screens: one queue of everything waiting on a human."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from django.utils import timezone

from intents.models import Event, Intent, IntentStatus

from .models import AccessRequest, Approval, Arbitration, ArbitrationStatus, CoordinatorLease, DecisionStatus, Escalation, EscalationStatus

KINDS = {
    "arbitration": "Arbitration request",
    "escalation": "Escalation",
    "approval": "Approval request",
    "access_request": "Access request",
    "suspension": "Suspended intent awaiting input",
}
PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
SORTS = ("oldest", "newest", "priority")


@dataclass
class QueueItem:
    kind: str
    id: str
    intent_id: str
    intent_title: str
    summary: str
    priority: str
    requested_by: str
    created_at: datetime

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def age_seconds(self) -> int:
        return max(0, int((timezone.now() - self.created_at).total_seconds()))

    def as_dict(self) -> dict:
        from openintent_project.api.timestamps import format_timestamp

        return {
            "kind": self.kind, "kind_label": self.kind_label, "id": self.id, "intent_id": self.intent_id,
            "intent_title": self.intent_title, "summary": self.summary, "priority": self.priority,
            "requested_by": self.requested_by, "created_at": format_timestamp(self.created_at),
            "age_seconds": self.age_seconds,
        }


def portfolio_filter_available() -> bool:
    try:
        from intents import selectors_portfolios  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return False
    return True


def _portfolio_intent_ids(portfolio_id: str) -> list:
    """Portfolios are built by another helper (contract: ``portfolio_intent_ids``)."""
    from intents.selectors_portfolios import portfolio_intent_ids  # type: ignore[import-not-found]

    return list(portfolio_intent_ids(portfolio_id))


def _priority(value: Any) -> str:
    text = str(value or "medium").lower()
    return text if text in PRIORITY_RANK else "medium"


QUEUE_LIMIT = 500  # oldest items per kind, so the page stays fast (counts cap at the same number)


def review_queue(
    *, kind: str | None = None, priority: str | None = None, min_age_minutes: int | None = None,
    intent_id: str | None = None, portfolio_id: str | None = None, sort: str = "oldest",
) -> tuple[list[QueueItem], dict[str, int]]:
    """Pending items of every kind (filtered and sorted) and the count of each kind after the
    intent/portfolio/age filters (so the kind tabs show what each would list)."""
    intent_ids = None
    if intent_id:
        intent_ids = [intent_id]
    if portfolio_id and portfolio_filter_available():
        members = [str(i) for i in _portfolio_intent_ids(portfolio_id)]
        intent_ids = members if intent_ids is None else [i for i in intent_ids if i in members]
    cutoff = timezone.now() - timedelta(minutes=min_age_minutes) if min_age_minutes else None

    def scoped(qs, date_field="created_at"):
        if intent_ids is not None:
            qs = qs.filter(intent_id__in=_valid_uuids(intent_ids))
        if cutoff is not None:
            qs = qs.filter(**{f"{date_field}__lte": cutoff})
        return qs

    items: list[QueueItem] = []
    for a in scoped(Arbitration.objects.filter(status=ArbitrationStatus.PENDING)).select_related("intent").order_by("created_at")[:QUEUE_LIMIT]:
        items.append(QueueItem("arbitration", str(a.pk), str(a.intent_id), a.intent.title, a.reason,
                               _priority(a.priority), a.requested_by, a.created_at))
    for e in scoped(Escalation.objects.filter(status=EscalationStatus.PENDING)).select_related("intent").order_by("created_at")[:QUEUE_LIMIT]:
        items.append(QueueItem("escalation", str(e.pk), str(e.intent_id), e.intent.title, e.reason,
                               _priority(e.priority), e.escalated_by, e.created_at))
    for p in scoped(Approval.objects.filter(status=DecisionStatus.PENDING)).select_related("intent").order_by("created_at")[:QUEUE_LIMIT]:
        summary = f"{p.action}: {p.reason}" if p.reason else p.action
        items.append(QueueItem("approval", str(p.pk), str(p.intent_id), p.intent.title, summary,
                               _priority((p.context or {}).get("priority")), p.requested_by, p.created_at))
    for r in scoped(AccessRequest.objects.filter(status=DecisionStatus.PENDING)).select_related("intent").order_by("created_at")[:QUEUE_LIMIT]:
        summary = f"{r.principal_id} requests {r.requested_permission}" + (f": {r.reason}" if r.reason else "")
        items.append(QueueItem("access_request", str(r.pk), str(r.intent_id), r.intent.title, summary,
                               "medium", r.principal_id, r.created_at))
    suspended = Intent.objects.filter(status=IntentStatus.SUSPENDED_AWAITING_INPUT)
    if intent_ids is not None:
        suspended = suspended.filter(pk__in=_valid_uuids(intent_ids))
    if cutoff is not None:
        suspended = suspended.filter(updated_at__lte=cutoff)
    for intent in suspended.order_by("updated_at")[:QUEUE_LIMIT]:
        s = (intent.state or {}).get("_suspension") or {}
        if not isinstance(s, dict):
            s = {}
        items.append(QueueItem("suspension", str(intent.pk), str(intent.pk), intent.title,
                               str(s.get("question") or s.get("reason") or "Awaiting input"),
                               _priority(s.get("priority")), str(s.get("suspended_by") or intent.created_by),
                               intent.updated_at))
    counts = {k: 0 for k in KINDS}
    for item in items:
        counts[item.kind] += 1
    if priority:
        items = [i for i in items if i.priority == priority]
    if kind:
        items = [i for i in items if i.kind == kind]
    if sort == "newest":
        items.sort(key=lambda i: i.created_at, reverse=True)
    elif sort == "priority":
        items.sort(key=lambda i: (PRIORITY_RANK[i.priority], i.created_at))
    else:
        items.sort(key=lambda i: i.created_at)
    return items, counts


def _valid_uuids(values: Iterable[str]) -> list:
    import uuid

    out = []
    for v in values:
        try:
            out.append(uuid.UUID(str(v)))
        except (ValueError, TypeError):
            continue
    return out


def queue_item_object(kind: str, item_id: str):
    """The row behind a queue item (for the detail page), or None."""
    pk = (_valid_uuids([item_id]) or [None])[0]
    model = {"arbitration": Arbitration, "escalation": Escalation, "approval": Approval, "access_request": AccessRequest}.get(kind)
    if model is not None:
        return model.objects.select_related("intent").filter(pk=pk).first() if pk else None
    return None


def recent_events(intent: Intent, limit: int = 25) -> list[Event]:
    return list(Event.objects.filter(intent=intent).order_by("-sequence")[:limit])


def coordinator_leases(intent: Intent) -> list[CoordinatorLease]:
    return list(CoordinatorLease.objects.filter(intent=intent).order_by("-granted_at")[:10])


def scope_leases(intent: Intent) -> list[dict]:
    """The intent's most recent scope leases (03), for the review detail page."""
    from intents.models import Lease

    rows = Lease.objects.filter(intent=intent).order_by("-acquired_at")[:20]
    return [{"scope": r.scope, "agent_id": r.agent_id, "expires_at": r.expires_at, "released_at": r.released_at} for r in rows]


def intent_costs(intent: Intent) -> dict:
    """Recorded costs (09) of the intent per unit, for the review detail page."""
    from django.db.models import Count, Sum

    from intents.models import CostRecord

    rows = CostRecord.objects.filter(intent=intent).values("unit").annotate(total=Sum("amount"), n=Count("id"))
    return {"by_unit": {r["unit"]: r["total"] for r in rows}, "count": sum(r["n"] for r in rows)}
