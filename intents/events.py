"""The only way an event is written (ARCHITECTURE.md, "One path for every write")."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from openintent_project.db import rows

from .models import Event, Intent
from .signals import event_committed, event_recorded

SYSTEM_ACTOR = "system"

# Apps that act on recorded events only while certain rows exist (an enabled event trigger,
# an active webhook subscription) register a query for those rows (``register_interest``).
# Each recorded event asks all of them in one statement, inside the writing transaction, and
# hands the answers to ``event_recorded``'s receivers as ``interests`` (name -> bool): one
# statement per event, where each app asking on its own cost one each.
_interests: dict[str, Callable[[], QuerySet]] = {}


def register_interest(name: str, queryset: Callable[[], QuerySet]) -> None:
    """``queryset`` builds a fixed query (no varying parameters) whose rows make the app named
    ``name`` act on recorded events. Called once, at start-up (``AppConfig.ready``)."""
    _interests[name] = queryset


def record(
    intent: Intent,
    event_type: str,
    actor: str,
    payload: dict[str, Any] | None = None,
    *,
    trace_id: str | None = None,
    parent_event_id: str | None = None,
    save_fields: Iterable[str] = (),
) -> Event:
    """Append an event to ``intent``'s log with the next gap-free ``sequence``.

    Contract: the caller is inside ``transaction.atomic()`` and holds the intent's row lock
    (read with ``select_for_update``; on SQLite the IMMEDIATE transaction serialises writers),
    so the in-memory counter equals the stored one. The unique (intent, sequence) constraint
    turns any breach of that contract into an error instead of a silent gap or duplicate.

    ``save_fields``: other fields of ``intent`` the caller changed for this event (a version
    bump); they are written in the same UPDATE as the sequence.
    """
    intent.event_sequence += 1
    rows.update_row(intent, (*save_fields, "event_sequence"))
    event = Event(
        intent=intent,
        sequence=intent.event_sequence,
        event_type=event_type,
        actor=actor,
        payload=payload if payload is not None else {},
        trace_id=trace_id,
        parent_event_id=parent_event_id,
        created_at=timezone.now(),
    )
    rows.insert_row(event)
    interests = rows.exists_each(_interests) if _interests else {}
    event_recorded.send(sender=Event, event=event, interests=interests)
    transaction.on_commit(lambda: event_committed.send(sender=Event, event=event))
    return event
