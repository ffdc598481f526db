"""What may be stored or shown about a tool call (14 §3 "Sanitizer", "Fingerprint")."""

from __future__ import annotations

import hashlib
import re
from typing import Any

SENSITIVE_KEY = re.compile(r"(secret|password|token|key|auth|credential|api.?key|bearer|access.?token)", re.IGNORECASE)
MAX_DEPTH = 10
MAX_LIST = 100
MAX_STRING = 10_000


def sanitize(data: Any, depth: int = 0) -> Any:
    """Redact secret-looking keys, cut deep nesting, long lists and long strings."""
    if depth > MAX_DEPTH:
        return "[TRUNCATED]"
    if isinstance(data, dict):
        return {
            key: "[REDACTED]" if SENSITIVE_KEY.search(str(key)) else sanitize(value, depth + 1)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [sanitize(item, depth + 1) for item in data[:MAX_LIST]]
    if isinstance(data, str) and len(data) > MAX_STRING:
        return data[:MAX_STRING] + "...[TRUNCATED]"
    return data


def strip_secrets(text: str, secrets: dict | None = None) -> str:
    """Error text: ``key=value`` secrets, long base64 runs and the literal secret values go."""
    cleaned = text
    for value in (secrets or {}).values():
        if isinstance(value, str) and len(value) >= 4:
            cleaned = cleaned.replace(value, "[REDACTED]")
    cleaned = re.sub(
        r"(api[_-]?key|token|secret|password|bearer)\s*[=:]\s*\S+", r"\1=[REDACTED]", cleaned, flags=re.IGNORECASE
    )
    return re.sub(r"[A-Za-z0-9+/]{40,}={0,2}", "[REDACTED]", cleaned)


def fingerprint(method: str, url: str, body: Any) -> str:
    return hashlib.sha256(f"{method}|{url}|{str(body)[:2000]}".encode()).hexdigest()[:16]
