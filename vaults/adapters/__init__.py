"""Tool execution adapters (14 §3 step 7): one module per kind on ``base.ToolAdapter``; the
registry maps a kind to a dotted path, like healthchecks' transports."""

from __future__ import annotations

from functools import lru_cache

from django.utils.module_loading import import_string

from .base import ToolAdapter, ToolCall, ToolResult

ADAPTERS: dict[str, str] = {
    "rest": "vaults.adapters.rest.RestAdapter",
    "oauth2": "vaults.adapters.oauth2.OAuth2Adapter",
    "webhook": "vaults.adapters.webhook.WebhookAdapter",
}

# With ``metadata.base_url`` set and no explicit ``metadata.adapter``, the credential's
# auth_type picks the adapter.
AUTH_TYPE_ADAPTERS: dict[str, str] = {
    "api_key": "rest",
    "bearer_token": "rest",
    "basic_auth": "rest",
    "rest": "rest",
    "oauth2_token": "oauth2",
    "oauth2_client_credentials": "oauth2",
    "webhook": "webhook",
}


@lru_cache(maxsize=None)
def get_adapter(kind: str) -> ToolAdapter:
    return import_string(ADAPTERS[kind])()


def adapter_kind_for(metadata: dict, auth_type: str) -> str | None:
    """The adapter kind for a credential, or None: no execution configuration."""
    explicit = metadata.get("adapter")
    if isinstance(explicit, str) and explicit in ADAPTERS:
        return explicit
    if metadata.get("base_url"):
        return AUTH_TYPE_ADAPTERS.get(auth_type)
    return None


__all__ = ["ADAPTERS", "ToolAdapter", "ToolCall", "ToolResult", "adapter_kind_for", "get_adapter"]
