"""Inbound webhook triggers: a public route per trigger, HMAC-verified (17 §2, §3)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from .base import TriggerKind, invalid

METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
SIGNATURE_HEADER = "X-OpenIntent-Signature"
TIMESTAMP_HEADER = "X-OpenIntent-Timestamp"


def normalize_path(path: str) -> str:
    return "/" + path.strip().strip("/")


def signature_for(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body, or of ``<timestamp>.<body>`` when a
    timestamp header is sent (so the timestamp cannot be swapped on a replay)."""
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(signature_for(secret, body, timestamp).encode(), signature.strip().encode())


def verify_timestamp(value: Any, *, now: datetime) -> None:
    """Replay protection: the (signed) Unix timestamp must be within the tolerance of now."""
    from django.conf import settings

    from openintent_project.errors import ProtocolError

    try:
        sent = float(value)
    except (TypeError, ValueError):
        raise ProtocolError("Missing or invalid webhook timestamp", status_code=401) from None
    if abs(now.timestamp() - sent) > settings.TRIGGERS_WEBHOOK_TOLERANCE_SECONDS:
        raise ProtocolError("Webhook timestamp outside the accepted window", status_code=401)


class WebhookKind(TriggerKind):
    type = "webhook"

    def clean_condition(self, condition: dict, *, now: datetime) -> dict:
        path = condition.get("path")
        if not isinstance(path, str) or not path.strip("/ "):
            raise invalid("path", "A webhook trigger needs condition.path", path, "missing")
        if any(c in path for c in "?#") or len(path) > 400:
            raise invalid("path", "condition.path must be a plain URL path", path)
        condition["path"] = normalize_path(path)
        method = condition.get("method") or "POST"
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise invalid("method", f"Input should be one of: {', '.join(METHODS)}", method, "enum")
        condition["method"] = method.upper()
        transform = condition.get("transform")
        if transform is not None and not isinstance(transform, dict):
            raise invalid("transform", "Input should be a valid dictionary", transform, "dict_type")
        return condition

    def webhook_route(self, condition: dict) -> tuple[str | None, str | None]:
        return condition["method"], condition["path"]
