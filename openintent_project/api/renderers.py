from __future__ import annotations

import json

from rest_framework.renderers import JSONRenderer


class ProtocolJSONRenderer(JSONRenderer):
    """Compact UTF-8 JSON. Timestamps are already strings in the protocol's format
    (see timestamps.py), so no date-aware encoder is involved."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
