"""JSON request bodies with a size cap and errors in the protocol's shape."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from openintent_project.errors import PayloadTooLarge


class ProtocolJSONParser(BaseParser):
    media_type = "application/json"

    def max_bytes(self) -> int:
        """The body cap; routes that carry file content (base64) raise it."""
        return settings.OPENINTENT_MAX_BODY_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        limit = self.max_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(str(exc)) from exc


class AnyContentJSONParser(ProtocolJSONParser):
    """README §3 (MAY): read JSON whatever the content type says, so that
    ``curl -d '{...}'`` (form content type) works as in the RFC examples."""

    media_type = "*/*"
