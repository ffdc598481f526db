"""OAuth2 adapter (14 §3 "OAuth2"): ``Authorization: Bearer <access_token>``; on an upstream
401 with a ``token_url`` and client credentials or a refresh token, fetch a new token, retry
once, and hand the new token back so the service stores it sealed (REF discards it)."""

from __future__ import annotations

from typing import Any

from .base import ToolCall, ToolResult
from .rest import RestAdapter, TemplateError


class OAuth2Adapter(RestAdapter):
    kind = "oauth2"

    def perform(self, call: ToolCall) -> ToolResult:
        if not call.secret.get("access_token") and not self._can_refresh(call):
            return ToolResult(status="error", error="OAuth2 credential has no access_token")
        try:
            parts = self.request_parts(call)
        except TemplateError as exc:
            return ToolResult(status="error", error=str(exc))
        result = self._with_token(call, parts, call.secret.get("access_token", ""))
        if result.http_status == 401 and self._can_refresh(call):
            token = self._refresh(call)
            if token:
                result = self._with_token(call, parts, token)
                result.refreshed_secret = {**call.secret, "access_token": token}
                if result.status == "success" and isinstance(result.result, dict):
                    result.result["_refreshed"] = True
        return result

    def _with_token(self, call: ToolCall, parts: dict[str, Any], token: str) -> ToolResult:
        attempt = {**parts, "headers": {**parts["headers"], "Authorization": f"Bearer {token}"}, "params": dict(parts["params"])}
        return self.dispatch(call, attempt)

    def _can_refresh(self, call: ToolCall) -> bool:
        has_client = call.secret.get("client_id") and call.secret.get("client_secret")
        return bool(call.metadata.get("token_url") and (has_client or call.secret.get("refresh_token")))

    def _refresh(self, call: ToolCall) -> str | None:
        grant_type = call.metadata.get("token_grant_type") or "client_credentials"
        form = {"grant_type": grant_type}
        if grant_type == "refresh_token":
            if not call.secret.get("refresh_token"):
                return None
            form["refresh_token"] = call.secret["refresh_token"]
        client_id = call.secret.get("client_id")
        # token_url passes the destination check but not the allow-list (REF).
        unrestricted = ToolCall(call.tool_name, {}, call.metadata, call.secret, call.auth_type, None)
        try:
            response = self.send(
                unrestricted, "POST", str(call.metadata["token_url"]), data=form,
                auth=(client_id, call.secret.get("client_secret", "")) if client_id else None,
            )
            if 200 <= response.status_code < 300:
                token = response.json().get("access_token")
                return token if isinstance(token, str) and token else None
        except Exception:  # noqa: BLE001 - a failed refresh leaves the 401 outcome in place
            return None
        return None
