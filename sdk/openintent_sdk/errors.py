"""Exceptions mirroring the protocol's error answers (spec README §4).

Every exception the client raises for a server answer derives from :class:`OpenIntentError`
and carries ``status_code``, ``detail`` (the body's ``detail``), ``body`` (the parsed JSON, or
``None``) and ``response`` (the ``requests.Response``).
"""

from __future__ import annotations

from typing import Any


class OpenIntentError(Exception):
    """Base class of every error raised by the SDK."""

    def __init__(self, message: str, *, status_code: int | None = None, detail: Any = None,
                 body: Any = None, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail
        self.body = body
        self.response = response


class InvalidArgumentError(OpenIntentError, ValueError):
    """A call was rejected on the client side before anything was sent (empty title, negative
    duration, unknown status, …)."""


class TransportError(OpenIntentError):
    """The server could not be reached (connection refused, timeout, broken stream)."""


class ValidationError(OpenIntentError):
    """400: invalid input. ``errors`` holds the server's pydantic-style items
    (``{"type", "loc", "msg", "input"}``); it is empty for plain string details."""

    def __init__(self, message: str, *, errors: list[dict] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors or []

    @property
    def fields(self) -> dict[str, str]:
        """``{"body.title": "Field required", …}`` for quick inspection."""
        out = {}
        for item in self.errors:
            loc = ".".join(str(part) for part in item.get("loc", []))
            out[loc] = item.get("msg", "")
        return out


class AuthenticationError(OpenIntentError):
    """401: the API key is missing or unknown."""


class ForbiddenError(OpenIntentError):
    """403: a governance rule, an ACL or an acting-for-agent check refused the call.

    ``detail`` is the server's detail: a dict for governance violations
    (``error``, ``rule``, ``message``) and ACL denials (``error:"forbidden"``,
    ``required_permission``, ``current_permission``, ``access_request_url``), else a string.
    """

    def _get(self, key: str) -> Any:
        return self.detail.get(key) if isinstance(self.detail, dict) else None

    @property
    def error(self) -> str | None:
        return self._get("error")

    @property
    def rule(self) -> str | None:
        return self._get("rule")

    @property
    def required_permission(self) -> str | None:
        return self._get("required_permission")

    @property
    def current_permission(self) -> str | None:
        return self._get("current_permission")

    @property
    def access_request_url(self) -> str | None:
        return self._get("access_request_url")

    @property
    def is_governance_violation(self) -> bool:
        return self.rule is not None


class NotFoundError(OpenIntentError):
    """404: unknown resource (or unknown route)."""


class MethodNotAllowedError(OpenIntentError):
    """405."""


class ConflictError(OpenIntentError):
    """409: version conflict or a state that forbids the call. ``current_version`` is the
    server's current version when it says so."""

    def __init__(self, message: str, *, current_version: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.current_version = current_version


class LeaseConflictError(ConflictError):
    """409 on a lease (or coordinator lease): someone else holds the scope.
    ``existing_lease`` is the holder's lease as a dict (``None`` when the server omits it)."""

    def __init__(self, message: str, *, existing_lease: dict | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing_lease = existing_lease


class GoneError(OpenIntentError):
    """410: the resource is finished for good (dead agent, failed-over coordinator lease)."""


class PayloadTooLargeError(OpenIntentError):
    """413."""


class UnprocessableError(OpenIntentError):
    """422: a semantic rejection with an object ``detail`` (RFC-0024 I/O checks, invalid
    suspension choice)."""


class PreconditionRequiredError(OpenIntentError):
    """428: ``If-Match`` missing on the RFC-0012/15/17 PATCH routes."""


class RateLimitError(OpenIntentError):
    """429. ``retry_after`` is the server's ``Retry-After`` in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(OpenIntentError):
    """5xx."""


class ServiceUnavailableError(ServerError):
    """503. ``retry_after`` as for :class:`RateLimitError`."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


def _message_of(detail: Any, body: Any, status: int) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return body["message"]
    if isinstance(detail, str):
        return detail
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("error") or detail)
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []))
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
        if parts:
            return "; ".join(parts)
    return f"HTTP {status}"


def error_from_response(response: Any, *, retry_after: float | None = None) -> OpenIntentError:
    """Build the exception matching an error ``requests.Response``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail")
    else:
        text = (response.text or "").strip()
        ctype = response.headers.get("Content-Type", "")
        # Proxies and frameworks sometimes answer with HTML pages: keep the message short.
        detail = (f"non-JSON answer ({ctype or 'no content type'})" if "html" in ctype or text.startswith("<")
                  else text[:500] or None)
    message = _message_of(detail, body, status)
    kw = {"status_code": status, "detail": detail, "body": body, "response": response}
    if status == 400:
        errors = None
        if isinstance(body, dict):
            errors = body.get("errors") if isinstance(body.get("errors"), list) else None
            if errors is None and isinstance(detail, list):
                errors = detail
        return ValidationError(message, errors=errors, **kw)
    if status == 401:
        return AuthenticationError(message, **kw)
    if status == 403:
        return ForbiddenError(message, **kw)
    if status == 404:
        return NotFoundError(message, **kw)
    if status == 405:
        return MethodNotAllowedError(message, **kw)
    if status == 409:
        current = body.get("current_version") if isinstance(body, dict) else None
        text = (response.text or "").lower()
        if isinstance(body, dict) and ("existing_lease" in body or "lease" in str(detail).lower()):
            return LeaseConflictError(message, existing_lease=body.get("existing_lease"), current_version=current, **kw)
        if body is None and "lease" in text:
            return LeaseConflictError(message, **kw)
        return ConflictError(message, current_version=current, **kw)
    if status == 410:
        return GoneError(message, **kw)
    if status == 413:
        return PayloadTooLargeError(message, **kw)
    if status == 422:
        return UnprocessableError(message, **kw)
    if status == 428:
        return PreconditionRequiredError(message, **kw)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **kw)
    if status == 503:
        return ServiceUnavailableError(message, retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(message, **kw)
    return OpenIntentError(message, **kw)
