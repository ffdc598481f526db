"""Webhook adapter (14 §3 "Webhook"): POST ``{tool_name, parameters, timestamp}`` to
``base_url``; with a ``signing_secret`` the header ``X-OpenIntent-Signature: sha256=<hex>``
signs exactly the bytes sent (FIX: REF signs one serialisation and sends another)."""

from __future__ import annotations

import hashlib
import hmac
import time

from .base import ToolAdapter, ToolCall, ToolResult, dumps
from ..sanitize import fingerprint


class WebhookAdapter(ToolAdapter):
    kind = "webhook"

    def perform(self, call: ToolCall) -> ToolResult:
        url = str(call.metadata.get("base_url") or "")
        if not url:
            return ToolResult(status="error", error="Webhook credential missing 'base_url'")
        payload = {"tool_name": call.tool_name, "parameters": call.parameters, "timestamp": time.time()}
        body = dumps(payload)
        headers = {"Content-Type": "application/json"}
        signing_secret = call.secret.get("signing_secret")
        if signing_secret:
            digest = hmac.new(str(signing_secret).encode(), body, hashlib.sha256).hexdigest()
            headers["X-OpenIntent-Signature"] = f"sha256={digest}"
        print_ = fingerprint("POST", url, payload)
        response = self.guarded_send(call, print_, "POST", url, data=body, headers=headers)
        if isinstance(response, ToolResult):
            return response
        return self.outcome(response, print_, label="Webhook")
