"""Event triggers: glob on the event type plus simple payload filters (17 §2, §5)."""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from .base import TriggerKind, invalid

# The RFC's names for the events the server writes under other names (17 §5 table).
RFC_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "intent.created": ("intent_created", {}),
    "intent.state_changed": ("status_changed", {}),
    "intent.resolved": ("status_changed", {"status": "completed"}),
    "intent.failed": ("status_changed", {"status": "abandoned"}),
    "lease.claimed": ("lease_acquired", {}),
    "lease.expired": ("lease_released", {"reason": "*"}),
}


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return fnmatchcase(actual, expected)
    return expected == actual


class EventKind(TriggerKind):
    type = "event"

    def clean_condition(self, condition: dict, *, now: datetime) -> dict:
        event = condition.get("event")
        if not isinstance(event, str) or not event.strip():
            raise invalid("event", "An event trigger needs condition.event (an event type, glob allowed)", event, "missing")
        filters = condition.get("filter")
        if filters is not None and not isinstance(filters, dict):
            raise invalid("filter", "Input should be a valid dictionary", filters, "dict_type")
        return condition

    def matches(self, condition: dict, *, event_type: str, facts: dict, payload: dict) -> bool:
        """``facts`` holds the top-level ``event_type``, ``intent_id`` and ``actor``."""
        pattern = condition.get("event") or ""
        implied: dict[str, Any] = {}
        if pattern in RFC_ALIASES:
            pattern, implied = RFC_ALIASES[pattern]
        if not fnmatchcase(event_type, pattern):
            return False
        for key, expected in {**implied, **(condition.get("filter") or {})}.items():
            if key == "to_state":  # intent.state_changed's key for the new status
                key = "status"
            if key in payload:
                actual = payload[key]
            elif key in facts:
                actual = facts[key]
            else:
                return False
            if not _value_matches(expected, actual):
                return False
        return True
