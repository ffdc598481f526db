"""The protocol's timestamp format (README §5): naive UTC ISO 8601, microseconds kept,
no offset and no ``Z``. DRF's and Django's encoders both write ``Z``; the official client
compares lease expiry with a naive ``datetime.now()``, so we format by hand."""

from __future__ import annotations

from datetime import datetime, timezone


def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 with or without an offset; naive values are UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
