"""The only way an event is written (ARCHITECTURE.md, "One path for every write")."""

from __future__ import annotations

from typing import Any, Iterable

from django.db import transaction
from django.utils import timezone

from openintent_project.db import rows

from .models import Event, Intent
from .signals import event_committed, event_recorded

SYSTEM_ACTOR = "system"


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
    event_recorded.send(sender=Event, event=event)
    transaction.on_commit(lambda: event_committed.send(sender=Event, event=event))
    return event
