"""REST adapter (14 §3 "REST"): ``base_url`` + ``endpoints[tool].path`` (a template:
``{name}`` placeholders are filled from the parameters, URL-quoted, and those parameters are
not sent again), method, per-endpoint headers, the secret injected by the credential's
auth_type (REF reads it from metadata; FIX uses the credential's)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .base import ToolAdapter, ToolCall, ToolResult, dumps
from ..sanitize import fingerprint

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    pass


def render_path(template: str, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    used: set[str] = set()

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in parameters:
            raise TemplateError(f"Missing path parameter '{name}'")
        used.add(name)
        return quote(str(parameters[name]), safe="")

    path = PLACEHOLDER.sub(fill, template)
    return path, {k: v for k, v in parameters.items() if k not in used}


class RestAdapter(ToolAdapter):
    kind = "rest"

    def request_parts(self, call: ToolCall) -> dict[str, Any]:
        base_url = str(call.metadata.get("base_url") or "")
        if not base_url:
            raise TemplateError("Credential metadata missing 'base_url'")
        endpoint = (call.metadata.get("endpoints") or {}).get(call.tool_name) or {}
        if not isinstance(endpoint, dict):
            endpoint = {}
        path, remaining = render_path(str(endpoint.get("path") or f"/{call.tool_name}"), call.parameters)
        method = str(endpoint.get("method") or "POST").upper()
        headers = {str(k): str(v) for k, v in (endpoint.get("headers") or {}).items()}
        mapping = endpoint.get("param_mapping") or "body"
        parts: dict[str, Any] = {"method": method, "url": base_url.rstrip("/") + path, "headers": headers, "params": {}}
        if method == "GET":
            parts["params"] = dict(remaining)
        elif method in ("POST", "PUT", "PATCH"):
            if mapping == "query":
                parts["params"] = dict(remaining)
            else:
                parts["body"] = remaining
        return parts

    def inject_auth(self, call: ToolCall, parts: dict[str, Any]) -> None:
        auth = call.metadata.get("auth") or {}
        if call.auth_type == "basic_auth":
            parts["auth"] = (str(call.secret.get("username", "")), str(call.secret.get("password", "")))
            return
        value = call.secret.get("api_key") or call.secret.get("token") or ""
        if not value:
            return
        if auth.get("location", "header") == "query":
            parts["params"][auth.get("query_param") or "api_key"] = value
            return
        prefix = auth.get("header_prefix") or ("Bearer" if call.auth_type == "bearer_token" else "")
        parts["headers"][auth.get("header_name") or "Authorization"] = f"{prefix} {value}" if prefix else str(value)

    def perform(self, call: ToolCall) -> ToolResult:
        try:
            parts = self.request_parts(call)
        except TemplateError as exc:
            return ToolResult(status="error", error=str(exc))
        self.inject_auth(call, parts)
        return self.dispatch(call, parts)

    def dispatch(self, call: ToolCall, parts: dict[str, Any]) -> ToolResult:
        body = parts.get("body")
        # The fingerprint covers what was asked for, never the injected secret.
        print_ = fingerprint(parts["method"], parts["url"], call.parameters)
        kwargs: dict[str, Any] = {"headers": dict(parts["headers"]), "params": parts["params"] or None}
        if "auth" in parts:
            kwargs["auth"] = parts["auth"]
        if body is not None:
            kwargs["data"] = dumps(body)
            kwargs["headers"].setdefault("Content-Type", "application/json")
        response = self.guarded_send(call, print_, parts["method"], parts["url"], **kwargs)
        if isinstance(response, ToolResult):
            return response
        return self.outcome(response, print_)
