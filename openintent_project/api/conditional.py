"""``If-Match`` parsing (README §7). REF reads ``int(header)``; we also accept ``"3"`` and
``W/"3"`` so that generic clients can echo an ETag."""

from __future__ import annotations

from openintent_project.errors import BadRequest, PreconditionRequired

IF_MATCH_REQUIRED = "If-Match header required"


def _parse(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    try:
        return int(text.strip())
    except ValueError:
        return None


def expected_version(request) -> int:
    """The version the caller expects; 400 ``If-Match header required`` when missing or bad."""
    version = _parse(request.META.get("HTTP_IF_MATCH"))
    if version is None:
        raise BadRequest(IF_MATCH_REQUIRED)
    return version


def expected_version_428(request) -> int:
    """The same for the RFC-0012/15/17 PATCH routes, which answer 428 instead."""
    version = _parse(request.META.get("HTTP_IF_MATCH"))
    if version is None:
        raise PreconditionRequired("If-Match header required")
    return version
