from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer


def encode_json(data) -> bytes:
    """Compact UTF-8 JSON, as every API response body is encoded. Timestamps are already
    strings in the protocol's format (see timestamps.py), so no date-aware encoder is
    involved."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class ProtocolJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return encode_json(data)


def json_response(data, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    """The response DRF's ``Response(data)`` gives with ``ProtocolJSONRenderer``, built
    directly: a ``Response`` is rendered later through a template response and the renderer
    lookup, about 20 µs a request more here (a read of one intent takes 350 µs in Django).
    For the hottest routes (read, create, patch an intent, append an event); DRF still adds
    its ``Allow`` and ``Vary`` headers to either."""
    return HttpResponse(encode_json(data), status=status, content_type="application/json", headers=headers)
