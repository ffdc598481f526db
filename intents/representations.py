"""Wire shapes, built by hand: these are on every hot path, and the protocol's timestamp
format and key order are exact (01, "Intent object"). The OpenAPI document describes the
same shapes with the serializers in api/serializers.py; the schema tests keep them in step."""

from __future__ import annotations

import json
from typing import Iterable

from openintent_project.api.timestamps import format_timestamp as ts

from .models import Assignment, Event, Intent


def intent_dict(intent: Intent) -> dict:
    parent = str(intent.parent_id) if intent.parent_id else None
    return {
        "id": str(intent.id),
        "title": intent.title,
        "description": intent.description,
        "created_by": intent.created_by,
        # FIX (01): REF uses parent_id on single intents and parent_intent_id in lists; the
        # official client reads only parent_intent_id. Both, always.
        "parent_id": parent,
        "parent_intent_id": parent,
        "depends_on": list(intent.depends_on_ids),
        "constraints": intent.constraints,
        "state": intent.state,
        "status": intent.status,
        "confidence": float(intent.confidence),
        "version": intent.version,
        "governance_policy": intent.governance_policy,
        "created_at": ts(intent.created_at),
        "updated_at": ts(intent.updated_at),
    }


def intent_list(intents: Iterable[Intent]) -> list[dict]:
    return [intent_dict(intent) for intent in intents]


def event_dict(event: Event) -> dict:
    data = {
        "id": str(event.uuid),
        "intent_id": str(event.intent_id),
        "event_type": event.event_type,
        "actor": event.actor,
        "payload": event.payload,
        "created_at": ts(event.created_at),
        "sequence": event.sequence,
    }
    if event.trace_id is not None:
        data["trace_id"] = event.trace_id
    if event.parent_event_id is not None:
        data["parent_event_id"] = event.parent_event_id
    return data


_EVENT_COLUMNS = ("uuid", "event_type", "actor", "payload_text", "created_at", "sequence", "trace_id", "parent_event_id")


def _uuid_text(value) -> str:
    """A UUID column as read by the driver: SQLite gives 32 hex digits (Django stores UUIDs
    as char(32) there), PostgreSQL a ``uuid.UUID``."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def _timestamp_text(value) -> str:
    """A datetime column as read by the driver, in the protocol's format. SQLite gives the
    text Django stored (``str()`` of the naive UTC value: ``YYYY-MM-DD HH:MM:SS[.ffffff]``),
    which differs from ``isoformat()`` only by the separator; PostgreSQL gives a datetime."""
    if isinstance(value, str):
        return value.replace(" ", "T", 1)
    return ts(value)


def event_list_json(queryset) -> bytes:
    """The JSON array of ``event_dict`` for every event of ``queryset`` (one intent's), built
    as text.

    Listing is the heaviest read (up to 1000 events). Rows are read straight from the cursor,
    without the ORM's per-value converters or model instances; payloads are spliced in as the
    database stores them, and the few distinct event types and actors are encoded once each.
    The result is the same document ``[event_dict(e) for e in events]`` would give (tested)."""
    from django.db import connections
    from django.db.models import TextField
    from django.db.models.functions import Cast

    if queryset.query.is_empty():
        return b"[]"
    connection = connections[queryset.db]
    columns = list(_EVENT_COLUMNS)
    annotations = {"payload_text": Cast("payload", TextField())}
    if connection.vendor == "sqlite":
        # Read the stored text: a datetime column would be parsed by the driver (its declared
        # type), only to be formatted back into nearly the same text.
        annotations["created_text"] = Cast("created_at", TextField())
        columns[columns.index("created_at")] = "created_text"
    query = queryset.annotate(**annotations).values_list("intent_id", *columns).query
    sql, params = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not found:
        return b"[]"
    intent_id = _uuid_text(found[0][0])  # the same for every row
    encoded: dict[str, str] = {}

    def enc(text: str) -> str:
        value = encoded.get(text)
        if value is None:
            value = encoded[text] = json.dumps(text, ensure_ascii=False)
        return value

    parts = []
    for _, uuid, event_type, actor, payload, created_at, sequence, trace_id, parent_event_id in found:
        extra = ""
        if trace_id is not None:
            extra += ',"trace_id":' + enc(trace_id)
        if parent_event_id is not None:
            extra += ',"parent_event_id":' + enc(parent_event_id)
        parts.append(
            f'{{"id":"{_uuid_text(uuid)}","intent_id":"{intent_id}","event_type":{enc(event_type)},'
            f'"actor":{enc(actor)},"payload":{payload},"created_at":"{_timestamp_text(created_at)}",'
            f'"sequence":{sequence}{extra}}}'
        )
    return ("[" + ",".join(parts) + "]").encode()


def assignment_dict(assignment: Assignment) -> dict:
    return {
        "id": str(assignment.id),
        "intent_id": str(assignment.intent_id),
        "agent_id": assignment.agent_id,
        "role": assignment.role,
        "assigned_at": ts(assignment.assigned_at),
    }
