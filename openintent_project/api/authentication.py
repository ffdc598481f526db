"""API key authentication (``X-API-Key``).

Keys come from three places: the dev keys (dev mode only, unless OPENINTENT_API_KEYS is set),
``OPENINTENT_API_KEYS`` from the environment, and keys created in the admin, which are stored
as SHA-256 digests (the key itself is shown once)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import authentication, exceptions

from .principal import Principal

INVALID_KEY = "Invalid or missing API key"


_KEY_SETTINGS = {"OPENINTENT_API_KEYS", "OPENINTENT_DEV_MODE", "OPENINTENT_DEV_API_KEYS", "OPENINTENT_OPERATOR_KEYS"}


@functools.cache
def _settings_keys() -> tuple[frozenset[str], frozenset[str]]:
    """(every key from settings, the operator keys), read once: this runs on every request."""
    keys = list(settings.OPENINTENT_API_KEYS)
    if not keys and getattr(settings, "OPENINTENT_DEV_MODE", False):
        keys = list(settings.OPENINTENT_DEV_API_KEYS)
    operators = frozenset(settings.OPENINTENT_OPERATOR_KEYS)
    return frozenset(keys) | operators, operators


@receiver(setting_changed)
def _forget_settings_keys(setting, **kwargs) -> None:
    if setting in _KEY_SETTINGS:
        _settings_keys.cache_clear()


def configured_keys() -> frozenset[str]:
    return _settings_keys()[0]


def resolve_api_key(raw_key: str) -> tuple[str, bool] | None:
    """Return (label, is_operator) for a valid key, else None."""
    if not raw_key:
        return None
    keys, operators = _settings_keys()
    if raw_key in keys:
        return raw_key, raw_key in operators
    from agents_registry.services import api_key_authenticate

    stored = api_key_authenticate(raw_key)
    if stored is None:
        return None
    return stored.principal or raw_key, stored.is_operator


def principal_for(raw_key: str, agent_header: str | None) -> Principal | None:
    resolved = resolve_api_key(raw_key)
    if resolved is None:
        return None
    identity, is_operator = resolved
    agent_id = (agent_header or "").strip()
    return Principal(
        id=agent_id or identity,
        api_key=identity,
        is_operator=is_operator,
        agent_header=bool(agent_id),
    )


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        principal = principal_for(
            request.META.get("HTTP_X_API_KEY", ""), request.META.get("HTTP_X_AGENT_ID")
        )
        if principal is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return principal, principal.api_key

    def authenticate_header(self, request) -> str:
        # A value here makes DRF answer 401 rather than 403 (README §2).
        return "ApiKey"
