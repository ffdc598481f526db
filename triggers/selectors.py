"""Reads of triggers and their history."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery

from openintent_project.errors import NotFound

from .models import Trigger, TriggerFire


def trigger_list(*, namespace: str | None = None, type: str | None = None, enabled: bool | None = None):
    triggers = Trigger.objects.all()
    if namespace is not None:
        triggers = triggers.filter(namespace=namespace)
    if type is not None:
        triggers = triggers.filter(type=type)
    if enabled is not None:
        triggers = triggers.filter(enabled=enabled)
    return triggers.order_by("created_at", "id")


def trigger_history(*, trigger_id: Any, limit: int = 50) -> list[TriggerFire]:
    """Newest first. Readable after the trigger is deleted; an id never seen → 404."""
    from .services import TRIGGER_NOT_FOUND, _as_uuid_or_none

    pk = _as_uuid_or_none(trigger_id)
    if pk is None:
        raise NotFound(TRIGGER_NOT_FOUND)
    fires = list(TriggerFire.objects.filter(trigger_id=pk).order_by("-fired_at", "-id")[:limit])
    if not fires and not Trigger.objects.filter(pk=pk).exists():
        raise NotFound(TRIGGER_NOT_FOUND)
    return fires


def with_last_outcome(triggers):
    """Annotate ``last_outcome`` (admin list) in the same query."""
    last = TriggerFire.objects.filter(trigger_id=OuterRef("pk")).order_by("-fired_at", "-id")
    return triggers.annotate(last_outcome=Subquery(last.values("outcome")[:1]))
