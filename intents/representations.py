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


_EVENT_COLUMNS = ("uuid", "intent_id", "event_type", "actor", "payload_text", "created_at", "sequence", "trace_id", "parent_event_id")


def event_list_json(queryset) -> bytes:
    """The JSON array of ``event_dict`` for every event of ``queryset``, built as text.

    Listing is the heaviest read (up to 1000 events). Payloads are spliced in as the database
    stores them instead of being decoded and encoded again, and no model instances are made;
    the result is the same document ``[event_dict(e) for e in events]`` would give."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    dumps = json.dumps
    parts = []
    rows = queryset.annotate(payload_text=Cast("payload", TextField())).values_list(*_EVENT_COLUMNS)
    for uuid, intent_id, event_type, actor, payload, created_at, sequence, trace_id, parent_event_id in rows:
        extra = ""
        if trace_id is not None:
            extra += ',"trace_id":' + dumps(trace_id, ensure_ascii=False)
        if parent_event_id is not None:
            extra += ',"parent_event_id":' + dumps(parent_event_id, ensure_ascii=False)
        parts.append(
            f'{{"id":"{uuid}","intent_id":"{intent_id}","event_type":{dumps(event_type, ensure_ascii=False)},'
            f'"actor":{dumps(actor, ensure_ascii=False)},"payload":{payload},"created_at":"{ts(created_at)}",'
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
