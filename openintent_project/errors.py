"""Domain exceptions raised by services. One DRF handler (api/exceptions.py) maps them to the
protocol's status codes and bodies; services never build HTTP responses themselves."""

from __future__ import annotations

from typing import Any


class ProtocolError(Exception):
    """An error with a protocol status code. ``detail`` is the body's ``detail`` value."""

    status_code = 400

    def __init__(self, detail: Any, *, status_code: int | None = None, **extra: Any):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def body(self) -> dict:
        body: dict[str, Any] = {"detail": self.detail}
        # FIX (README §4): the official client builds 400/409 messages from "message".
        if isinstance(self.detail, str):
            body["message"] = self.detail
        body.update(self.extra)
        return body


class NotFound(ProtocolError):
    status_code = 404


class BadRequest(ProtocolError):
    """400 with a plain string detail (REF route-logic errors: If-Match, cycles...)."""

    status_code = 400


class Forbidden(ProtocolError):
    status_code = 403


class GovernanceViolation(Forbidden):
    """403 with an object detail (13 §5). ``violation`` (when given) is the payload of the
    ``governance.violation`` event, which must survive the rejected request: services wrapped
    in ``intents.services.core.governed`` write it in a transaction of its own, after their
    transaction has rolled back (protocol README §10)."""

    def __init__(self, detail: dict, *, intent_id=None, actor: str | None = None, violation: dict | None = None):
        super().__init__(detail)
        self.intent_id = intent_id
        self.actor = actor
        self.violation = violation
        self.recorded = False


class Conflict(ProtocolError):
    status_code = 409


class VersionConflict(Conflict):
    def __init__(self, current_version: int | None):
        # Never say "lease" here: the official client maps any 409 mentioning it to
        # LeaseConflictError.
        super().__init__("Version conflict", current_version=current_version)


class PreconditionRequired(ProtocolError):
    status_code = 428


class Unprocessable(ProtocolError):
    status_code = 422


class PayloadTooLarge(ProtocolError):
    status_code = 413


class RateLimited(ProtocolError):
    status_code = 429

    def __init__(self, detail: Any = "Rate limit exceeded", *, retry_after: int = 1, **extra: Any):
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class ServiceUnavailable(ProtocolError):
    status_code = 503


class InvalidInput(ProtocolError):
    """400 with pydantic-style items (README §4): ``{detail: [...], message, errors}``."""

    status_code = 400

    def __init__(self, items: list[dict], *, message: str | None = None):
        self.items = items
        self.message = message or summarize_items(items)
        super().__init__(items)

    @classmethod
    def at(cls, loc: list | tuple, msg: str, *, type: str = "value_error", input: Any = None, message: str | None = None):
        return cls([error_item(loc, msg, type=type, input=input)], message=message)

    def body(self) -> dict:
        return {"detail": self.items, "message": self.message, "errors": self.items}


def error_item(loc, msg: str, *, type: str = "value_error", input: Any = None) -> dict:
    return {"type": type, "loc": list(loc), "msg": msg, "input": input}


def summarize_items(items: list[dict]) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in items
    ) or "Invalid input"
