"""One exception handler: domain errors and DRF errors become the protocol's bodies
(README §4). Validation → 400 with pydantic-style items, never 422."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from openintent_project.errors import InvalidInput, ProtocolError, error_item

from .authentication import INVALID_KEY

logger = logging.getLogger(__name__)

# Errors that mean "the database cannot be reached right now", not "this request is wrong":
# psycopg reports a lost connection as OperationalError, and a connection Django already
# knows to be closed as InterfaceError.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
UNAVAILABLE_BODY = {"detail": "Service temporarily unavailable", "message": "Service temporarily unavailable"}

_CODE_TO_TYPE = {
    "required": "missing",
    "null": "none_not_allowed",
    "blank": "string_too_short",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "invalid_choice": "enum",
    "not_a_list": "list_type",
    "not_a_dict": "dict_type",
    "empty": "too_short",
    "parse_error": "json_invalid",
    "max_string_length": "int_parsing",
    "invalid": "value_error",
}


def validation_items(detail: Any, data: Any, prefix: tuple = ("body",)) -> list[dict]:
    """Flatten DRF's nested error structure into pydantic-style items."""
    items: list[dict] = []

    def lookup(path: tuple) -> Any:
        value = data
        for part in path:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                return None
        return value

    def walk(node: Any, path: tuple) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                if key in ("non_field_errors", "__all__"):
                    walk(sub, path)
                else:
                    walk(sub, path + (int(key) if isinstance(key, int) or str(key).isdigit() and isinstance(lookup(path), list) else key,))
        elif isinstance(node, list):
            if node and all(isinstance(x, (str, drf.ErrorDetail)) for x in node):
                for message in node:
                    code = getattr(message, "code", "invalid")
                    kind = _CODE_TO_TYPE.get(code, code)
                    value = lookup(path[:-1]) if kind == "missing" else lookup(path)
                    items.append(error_item(prefix + path, str(message), type=kind, input=value))
            else:
                for index, sub in enumerate(node):
                    if sub:
                        walk(sub, path + (index,))
        elif node:
            items.append(error_item(prefix + path, str(node), input=lookup(path)))

    walk(detail, ())
    return items or [error_item(prefix, "Invalid input", input=data)]


def _request_data(context: dict) -> Any:
    request = context.get("request")
    if request is None:
        return None
    try:
        return request.data
    except Exception:  # the body itself was the problem
        return None


def protocol_exception_handler(exc: Exception, context: dict) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ProtocolError):
        body, status = exc.body(), exc.status_code
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
    elif isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        body, status = {"detail": INVALID_KEY}, 401
        headers["WWW-Authenticate"] = "ApiKey"
    elif isinstance(exc, drf.ParseError):
        item = error_item(("body",), f"Invalid JSON: {exc.detail}", type="json_invalid")
        body, status = InvalidInput([item]).body(), 400
    elif isinstance(exc, drf.ValidationError):
        body, status = InvalidInput(validation_items(exc.detail, _request_data(context))).body(), 400
    elif isinstance(exc, drf.UnsupportedMediaType):
        item = error_item(("header", "content-type"), str(exc.detail), type="content_type")
        body, status = InvalidInput([item]).body(), 400
    elif isinstance(exc, (Http404, drf.NotFound)):
        body, status = {"detail": "Not Found", "message": "Not Found"}, 404
    elif isinstance(exc, drf.MethodNotAllowed):
        body, status = {"detail": "Method Not Allowed"}, 405
    elif isinstance(exc, drf.PermissionDenied):
        body, status = {"detail": str(exc.detail)}, 403
    elif isinstance(exc, drf.Throttled):
        body, status = {"detail": str(exc.detail)}, 429
        if exc.wait:
            headers["Retry-After"] = str(int(exc.wait) + 1)
    elif isinstance(exc, RequestDataTooBig):
        body, status = {"detail": "Request body too large"}, 413
    elif isinstance(exc, drf.APIException):
        body, status = {"detail": str(exc.detail)}, exc.status_code
    elif isinstance(exc, DATABASE_UNAVAILABLE):
        # The database is unreachable, dropped the connection, or stayed locked past the busy
        # timeout: a clean, retryable 503. The transaction never committed (a lost connection
        # rolls it back on the server), so the client may retry.
        logger.warning("database unavailable: %s", exc)
        body, status = dict(UNAVAILABLE_BODY), 503
        headers["Retry-After"] = "1"
    else:
        return None
    return Response(body, status=status, headers=headers)
