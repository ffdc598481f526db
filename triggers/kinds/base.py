"""The small base class every trigger kind implements (ARCHITECTURE: one module per kind)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openintent_project.api.timestamps import format_timestamp, parse_timestamp
from openintent_project.errors import InvalidInput

LOC = ("body", "condition")


def invalid(key: str, msg: str, value: Any, type: str = "value_error") -> InvalidInput:
    return InvalidInput.at((*LOC, key), msg, type=type, input=value)


def timestamp_value(condition: dict, key: str) -> datetime | None:
    """Parse an ISO timestamp key of ``condition`` (400 when malformed)."""
    value = condition.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid(key, "Input should be an ISO 8601 datetime string", value, "datetime_type")
    try:
        return parse_timestamp(value)
    except ValueError:
        raise invalid(key, "Input should be a valid ISO 8601 datetime", value, "datetime_parsing") from None


def normalize_timestamp(condition: dict, key: str) -> datetime | None:
    """Parse ``condition[key]`` and rewrite it in the protocol's naive-UTC format (17 §2 FIX)."""
    parsed = timestamp_value(condition, key)
    if parsed is not None:
        condition[key] = format_timestamp(parsed)
    return parsed


class TriggerKind:
    """What differs between schedule, event and webhook triggers."""

    type: str = ""

    def clean_condition(self, condition: dict, *, now: datetime) -> dict:
        """Validate and normalise a condition (the secret already removed). Raises InvalidInput."""
        return condition

    def next_fire_at(self, trigger, *, after: datetime) -> datetime | None:
        """The next automatic tick strictly after ``after`` (UTC), or None. Only schedules tick."""
        return None

    def in_window(self, trigger, *, now: datetime) -> bool:
        """Whether an automatic fire may happen now (17 §5.1)."""
        return True

    def webhook_route(self, condition: dict) -> tuple[str | None, str | None]:
        """(method, path) a webhook trigger listens on; (None, None) for other kinds."""
        return None, None
