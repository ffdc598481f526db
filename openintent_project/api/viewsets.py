"""The shared base for protocol viewsets: body-before-auth check order, principal, typed
input validation, and ids that are opaque strings (README §1)."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import viewsets
from rest_framework.exceptions import ParseError

from openintent_project.errors import InvalidInput, NotFound

from .exceptions import validation_items
from .principal import Principal
from .serializers import plainly_valid

BODY_METHODS = {"POST", "PUT", "PATCH"}


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def uuid_or_404(value: Any, message: str) -> uuid.UUID:
    """Path ids are opaque: a malformed one is simply unknown (404), never a 400."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound(message)
    return parsed


class JSONOnly:
    """The protocol speaks JSON whatever ``Accept`` says (REF answers JSON to every request),
    so DRF's content negotiation, which parses ``Accept`` on every request, is skipped."""

    def perform_content_negotiation(self, request, force=False):
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type


class ProtocolViewSet(JSONOnly, viewsets.ViewSet):
    lookup_value_regex = r"[^/]+"

    def initial(self, request, *args, **kwargs):
        # REF checks malformed JSON before the API key (README §2, check order item 1).
        if request.method in BODY_METHODS and not request.content_type.startswith("multipart/"):
            try:
                request.data  # noqa: B018 - parse now
            except ParseError:
                raise
        super().initial(request, *args, **kwargs)

    @property
    def principal(self) -> Principal:
        return self.request.user

    def body(self, serializer_class, *, data: Any = None, partial: bool = False) -> dict:
        """Validate the request body (an object) and return validated data."""
        payload = self.request.data if data is None else data
        if not isinstance(payload, dict):
            raise InvalidInput.at(("body",), "Input should be a valid dictionary", type="dict_type", input=payload)
        if not partial:
            validated = plainly_valid(serializer_class, payload)
            if validated is not None:
                return validated
        serializer = serializer_class(data=payload, partial=partial, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def query(self, serializer_class) -> dict:
        params = self.request.query_params.dict()
        serializer = serializer_class(data=params)
        if not serializer.is_valid():
            raise InvalidInput(validation_items(serializer.errors, params, prefix=("query",)))
        return serializer.validated_data
