"""What each stored event looks like on a stream (06, "What each stream carries").

``build_frame`` runs inside the event's transaction (``event_recorded``) and stores the frame
data with the event, so a replayed frame is identical to the live one and streams render
frames from rows, never from channel messages.

Most events (comments, progress, costs, ...) appear on a stream as themselves: the frame is
the event as the API shows it (``event_dict``), a function of the event row alone. For
those no frame row is written; a replay renders the frame from the event row, which gives
the same bytes as the live frame. A frame row is stored where the frame holds more than the
event row: a snapshot of the intent at that moment (the state before and after a patch), an
assignment, a lease's scope, an addressed agent."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps

from openintent_project.db import rows

from ..models import Assignment, Event, StreamFrame
from ..representations import assignment_dict, event_dict, intent_dict

# REF does not push these (06); FIX item 4 re-adds the rest of the stored events.
NOT_ON_INTENT_STREAM = frozenset(
    {"governance.violation", "escalation_initiated", "escalation_resolved", "access_request_denied"}
)
# Frames addressed to an agent's stream (the payload's agent_id); REF: agents stream only.
AGENT_FRAMES = frozenset({"agent_assigned", "agent_unassigned"})

# Names on the SDK alias routes (06, README §0.3); everything else passes unchanged.
SDK_NAMES = {
    "agent_assigned": "AGENT_ASSIGNED",
    "status_changed": "STATUS_CHANGED",
    "state_patched": "STATE_CHANGED",
    "lease_acquired": "LEASE_ACQUIRED",
    "lease_released": "LEASE_RELEASED",
}


def _intent_snapshot(event: Event) -> dict:
    intent = event.intent
    deferred = intent.get_deferred_fields()
    if deferred:  # read narrowly under the lock (an appended event): the rest in one query
        intent.refresh_from_db(fields=list(deferred))
    data = intent_dict(intent)
    data["intent_id"] = str(intent.pk)  # FIX 1: the SDK runtime reads intent_id
    return data


def _lease_scope(event: Event) -> Any:
    """``scope`` for lease frames (FIX 4): in the payload, or on the lease row (the leases
    model is built separately; looked up by name so this module does not depend on it)."""
    scope = event.payload.get("scope") if isinstance(event.payload, dict) else None
    if scope is not None:
        return scope
    lease_id = event.payload.get("lease_id") if isinstance(event.payload, dict) else None
    try:
        lease_model = apps.get_model("intents", "Lease")
    except LookupError:
        return None
    if not lease_id:
        return None
    try:
        return lease_model.objects.filter(pk=lease_id).values_list("scope", flat=True).first()
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - a malformed id means "unknown"
        return None


_RICHER_KINDS = frozenset({"state_patched", "status_changed", "intent.resumed"})
_RICHER_PREFIXES = ("governance.", "access_", "lease_")


def is_plain(event: Event) -> bool:
    """Whether the event's frame is the event itself (``event_dict``), with no agent to
    address: then the event row is all a stream needs, and no frame row is stored. Every kind
    ``frame_data`` renders differently is excluded here; a new branch there belongs here too."""
    kind = event.event_type
    if kind in _RICHER_KINDS or kind in AGENT_FRAMES or kind.startswith(_RICHER_PREFIXES):
        return False
    payload = event.payload if isinstance(event.payload, dict) else {}
    return not (kind == "intent_created" and "parent_id" not in payload)


def frame_name(event: Event) -> str:
    """The REF frame name on the intent stream, or "" when the event is not pushed there."""
    return "" if event.event_type in NOT_ON_INTENT_STREAM else event.event_type


def frame_data(event: Event) -> tuple[str, dict, str | None]:
    """(REF frame name or "" when not on the intent stream, data, addressed agent id)."""
    kind = event.event_type
    payload = event.payload if isinstance(event.payload, dict) else {}
    agent_id = None
    name = frame_name(event)
    if is_plain(event):
        data = event_dict(event)
    elif kind == "intent_created":
        data = _intent_snapshot(event)
    elif kind == "state_patched":
        data = _intent_snapshot(event)
        data["new_state"] = data["state"]
        data["old_state"] = getattr(event.intent, "_stream_loaded_state", None)
    elif kind == "status_changed":
        data = _intent_snapshot(event)
        data["new_status"] = data["status"]
        data["old_status"] = payload.get("previous_status", getattr(event.intent, "_stream_loaded_status", None))
    elif kind == "intent.resumed":
        data = dict(payload)
        data.setdefault("intent_id", str(event.intent_id))
    elif kind in AGENT_FRAMES:
        agent_id = str(payload.get("agent_id") or "") or None
        name = ""  # REF: agents stream only
        assignment = None
        if kind == "agent_assigned" and agent_id:
            assignment = Assignment.objects.filter(intent_id=event.intent_id, agent_id=agent_id).first()
        if assignment is not None:
            data = assignment_dict(assignment)
        else:
            data = {**event_dict(event), "agent_id": agent_id}
    elif kind.startswith("governance.approval_"):
        data = {**payload, "intent_id": str(event.intent_id), "decided_by": event.actor}
    elif kind.startswith("governance.") or kind.startswith("access_"):
        data = {**payload, "intent_id": str(event.intent_id)}
    else:  # lease_*
        data = event_dict(event)
        data["scope"] = _lease_scope(event)
    return name, data, agent_id


def build_frame(event: Event) -> tuple[str, str | None, str]:
    """(frame name, addressed agent id, data encoded as a log read would encode it), for the
    wake-up after commit; the frame row is stored unless the event is plain (``is_plain``).

    A plain event's payload has just been stored as JSON (the insert refuses what JSON cannot
    encode), and ``json.dumps`` of its ``event_dict`` is the text a replay reads back: a JSON
    value encodes to the same text before and after a round trip."""
    if is_plain(event):
        return plain_frame(event)
    name, data, agent_id = frame_data(event)
    # Round-trip through JSON now: a frame that cannot be rendered fails the write that made
    # it, not a stream later (STYLE §3, zulip's send_event_on_commit). Encoding the decoded
    # value again gives the same text, so ``encoded`` is what a stream reading the row sends.
    encoded = json.dumps(data, default=str)
    rows.insert_row(StreamFrame(event=event, name=name, data=json.loads(encoded), agent_id=agent_id))
    return name, agent_id, encoded


def plain_frame(event: Event) -> tuple[str, None, str]:
    """``build_frame`` of a plain event (``is_plain``), which needs nothing but the event:
    the writer encodes it after commit, and only when a stream may want it (``publish``)."""
    return frame_name(event), None, json.dumps(event_dict(event))


def render_sse(name: str, data: dict, frame_id: str | None) -> bytes:
    """``id:`` (stored events only), ``event:``, one ``data:`` line of ``json.dumps`` with
    default separators (REF), blank line."""
    return sse_bytes(name, json.dumps(data), frame_id)


def sse_bytes(name: str, encoded: str, frame_id: str | None) -> bytes:
    """One SSE frame from data already encoded as one line of JSON."""
    head = f"id: {frame_id}\n" if frame_id is not None else ""
    return f"{head}event: {name}\ndata: {encoded}\n\n".encode()
