"""Reads of the event log for streams (sync; consumers call them through
``database_sync_to_async``). Frames come from stored rows only."""

from __future__ import annotations

import json
import uuid
from typing import Iterable

from django.db.models import Max, Q

from ..models import Assignment, Event, Intent
from .frames import frame_data

BATCH = 500


def db_read(func):
    """``database_sync_to_async`` on the default thread pool. The thread-sensitive default
    runs every call on the one thread that also serves Django's sync views, so stream reads
    would queue behind busy writers."""
    from channels.db import database_sync_to_async

    return database_sync_to_async(func, thread_sensitive=_in_memory_sqlite())


def _in_memory_sqlite() -> bool:
    """The unit tests' shared-cache in-memory SQLite takes table locks that fail at once
    instead of waiting; there, reads stay on the one sync thread."""
    from django.db import connection

    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def _frame(event: Event) -> tuple[str, dict, str | None]:
    try:
        frame = event.stream_frame
    except Event.stream_frame.RelatedObjectDoesNotExist:
        # A plain event (``frames.is_plain``): its frame is the event row, rendered now as it
        # was rendered live. (Also events written before frames were stored at all.)
        return frame_data(event)
    return frame.name, frame.data, frame.agent_id


def as_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# --- intent streams: cursor = per-intent sequence (allocated under the row lock, so the
# visible sequences are always a prefix: no watermark needed) -----------------------------

def intent_head(intent_id: uuid.UUID) -> int:
    return Intent.objects.filter(pk=intent_id).values_list("event_sequence", flat=True).first() or 0


def intent_frames_after(intent_id: uuid.UUID, sequence: int, limit: int = BATCH) -> tuple[int, list, bool]:
    """(last sequence read, [(sequence, name, encoded data)], batch full) for frames after
    ``sequence``."""
    events = list(
        Event.objects.filter(intent_id=intent_id, sequence__gt=sequence)
        .select_related("stream_frame")
        .order_by("sequence")[:limit]
    )
    frames = []
    for event in events:
        name, data, _ = _frame(event)
        if name:
            # Encoded once here: every subscriber sharing this read sends the same bytes.
            frames.append((event.sequence, name, json.dumps(data)))
    return (events[-1].sequence if events else sequence), frames, len(events) == limit


# --- multi-intent streams: cursor = global Event.id below the process watermark ------------

def _multi_filter(intent_ids: Iterable, agent_id: str | None) -> Q:
    q = Q(intent_id__in=list(intent_ids))
    if agent_id is not None:
        q |= Q(stream_frame__agent_id=agent_id)
    return q


def multi_frames(intent_ids, agent_id: str | None, *, after_id: int, upto_id: int, ids: Iterable[int] = (), limit: int = BATCH):
    """Frames of ``intent_ids`` (and frames addressed to ``agent_id``) with after_id < id <=
    upto_id, plus the explicitly listed ``ids`` (late commits). Returns (last id read, frames)
    with frames = [(event id, "intent_id:sequence", name, data)] in id order."""
    window = Q(id__gt=after_id, id__lte=upto_id)
    extra = list(ids)
    if extra:
        window |= Q(id__in=extra)
    events = list(
        Event.objects.filter(window & _multi_filter(intent_ids, agent_id))
        .select_related("stream_frame")
        .order_by("id")[:limit]
    )
    frames = []
    for event in events:
        name, data, frame_agent = _frame(event)
        if agent_id is not None and frame_agent == agent_id:
            name = event.event_type
        if name:
            frames.append((event.id, f"{event.intent_id}:{event.sequence}", name, json.dumps(data)))
    in_window = [e.id for e in events if after_id < e.id <= upto_id]
    last = max(in_window) if len(events) == limit and in_window else upto_id
    return last, frames


def resolve_multi_id(value: str, intent_ids, agent_id: str | None) -> int | None:
    """The global id of the event named ``<intent_id>:<sequence>`` if it is on this stream."""
    intent_part, _, seq_part = (value or "").rpartition(":")
    intent_id = as_uuid(intent_part)
    if intent_id is None or not seq_part.isdigit():
        return None
    event = (
        Event.objects.filter(_multi_filter(intent_ids, agent_id), intent_id=intent_id, sequence=int(seq_part))
        .values_list("id", flat=True)
        .first()
    )
    return event


def agent_intent_ids(agent_id: str) -> list[uuid.UUID]:
    """Intents the agent is assigned to: their frames are relayed on its stream (06, MAY)."""
    return list(Assignment.objects.filter(agent_id=agent_id).values_list("intent_id", flat=True))


def portfolio_intent_ids(portfolio_id) -> list[uuid.UUID]:
    """Member intents of a portfolio (an unknown or malformed id has none)."""
    from intents.selectors_portfolios import portfolio_intent_ids as resolve

    pk = as_uuid(portfolio_id)
    if pk is None:
        return []
    return [as_uuid(i) for i in resolve(pk)]


def log_head() -> int:
    return Event.objects.aggregate(head=Max("id"))["head"] or 0


def log_ids_after(after_id: int, limit: int = 5000) -> list[tuple[int, uuid.UUID, str | None, int]]:
    return list(
        Event.objects.filter(id__gt=after_id)
        .order_by("id")
        .values_list("id", "intent_id", "stream_frame__agent_id", "sequence")[:limit]
    )


def log_ids_in(ids: Iterable[int]) -> list[tuple[int, uuid.UUID, str | None, int]]:
    return list(Event.objects.filter(id__in=list(ids)).values_list("id", "intent_id", "stream_frame__agent_id", "sequence"))
