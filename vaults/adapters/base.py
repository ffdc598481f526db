"""The adapter contract and the safety wrapping every adapter shares: destination check,
clamped timeout, no redirects, response size cap, sanitized results, secret-free errors."""

from __future__ import annotations

from abc import ABC, abstractmethod

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

from ..netguard import DestinationRefused, GuardedAdapter, check_url
from ..sanitize import sanitize, strip_secrets

logger = logging.getLogger(__name__)
# urllib3 logs every request line (query string included) at DEBUG; a query-placed API key
# must never reach a log, whatever LOG_LEVEL says.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

DEFAULT_TIMEOUT_MS = 30_000
MIN_TIMEOUT_MS = 1_000
MAX_TIMEOUT_MS = 120_000
USER_AGENT = "OpenIntent-Server/1.0"


@dataclass
class ToolCall:
    tool_name: str
    parameters: dict[str, Any]
    metadata: dict[str, Any]  # non-secret execution configuration
    secret: dict[str, Any]  # decrypted for this call only; never logged or stored
    auth_type: str
    constraints: dict[str, Any] | None = None

    def allowed_hosts(self) -> list[str] | None:
        hosts = (self.constraints or {}).get("allowed_hosts")
        return hosts if hosts else self.metadata.get("allowed_hosts") or None

    def timeout(self) -> float:
        raw = self.metadata.get("timeout_ms")
        try:
            ms = int(raw) if raw is not None else DEFAULT_TIMEOUT_MS
        except (TypeError, ValueError):
            ms = DEFAULT_TIMEOUT_MS
        return max(MIN_TIMEOUT_MS, min(ms, MAX_TIMEOUT_MS)) / 1000.0


@dataclass
class ToolResult:
    status: str = "success"  # success | error | timeout | denied
    result: dict[str, Any] | None = None
    error: str | None = None
    duration_ms: int = 0
    http_status: int | None = None
    request_fingerprint: str | None = None
    # A secret the adapter obtained (OAuth2 refresh) that the caller must store, sealed.
    refreshed_secret: dict[str, Any] | None = field(default=None, repr=False)


class ResponseTooLarge(Exception):
    pass


class ToolAdapter(ABC):
    """Subclasses implement ``perform(call)``; ``execute`` wraps it with the shared limits."""

    kind = ""

    def execute(self, call: ToolCall) -> ToolResult:
        started = time.monotonic()
        try:
            base_url = call.metadata.get("base_url")
            if base_url:
                check_url(str(base_url), call.allowed_hosts())
            result = self.perform(call)
        except DestinationRefused as exc:
            result = ToolResult(status="denied", error=f"Security validation failed: {exc}")
        except requests.Timeout:
            result = ToolResult(status="timeout", error="External service timed out")
        except requests.ConnectionError as exc:
            result = ToolResult(status="error", error=f"Connection failed: {strip_secrets(str(exc), call.secret)}")
        except Exception as exc:  # noqa: BLE001 - any failure becomes an error outcome, secrets stripped
            logger.warning("Tool execution failed: %s", strip_secrets(repr(exc), call.secret))
            result = ToolResult(status="error", error=f"Execution failed: {strip_secrets(str(exc), call.secret)}")
        result.duration_ms = int((time.monotonic() - started) * 1000)
        if result.result is not None:
            result.result = sanitize(result.result)
        if result.error:
            result.error = strip_secrets(result.error, call.secret)
        return result

    @abstractmethod
    def perform(self, call: ToolCall) -> ToolResult:
        """Make the call; every adapter kind defines it."""

    # --- helpers for subclasses ----------------------------------------------------------

    def send(self, call: ToolCall, method: str, url: str, **kwargs) -> requests.Response:
        """One HTTP request: destination checked, no redirects, body read up to the cap."""
        check_url(url, call.allowed_hosts())
        headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        with requests.Session() as session:
            session.trust_env = False  # never route secrets through an env-configured proxy
            session.mount("http://", GuardedAdapter(max_retries=0))
            session.mount("https://", GuardedAdapter(max_retries=0))
            response = session.request(
                method, url, headers=headers, timeout=call.timeout(), allow_redirects=False, stream=True, **kwargs
            )
            try:
                limit = settings.OPENINTENT_TOOLS_MAX_RESPONSE_BYTES
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body.extend(chunk)
                    if len(body) > limit:
                        raise ResponseTooLarge(f"Response too large (limit: {limit} bytes)")
                response._content = bytes(body)
            finally:
                response.close()
        return response

    def outcome(self, response: requests.Response, fingerprint: str, label: str = "Upstream") -> ToolResult:
        try:
            data = response.json()
        except ValueError:
            data = {"raw": response.text[:5000]}
        if not isinstance(data, dict):
            data = {"data": data}
        if 200 <= response.status_code < 300:
            return ToolResult(status="success", result=data, http_status=response.status_code, request_fingerprint=fingerprint)
        return ToolResult(
            status="error", result=data, error=f"{label} returned HTTP {response.status_code}",
            http_status=response.status_code, request_fingerprint=fingerprint,
        )

    def guarded_send(self, call: ToolCall, fingerprint: str, method: str, url: str, **kwargs) -> ToolResult | requests.Response:
        try:
            return self.send(call, method, url, **kwargs)
        except ResponseTooLarge as exc:
            return ToolResult(status="error", error=str(exc), request_fingerprint=fingerprint)


def dumps(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True).encode()
