from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.utils import timezone

from .models import ApiKey

KEY_PREFIX = "oi_"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class AuthenticatedKey:
    principal: str
    is_operator: bool


def api_key_create(*, name: str, principal: str = "", is_operator: bool = False) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is never stored and never shown again."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name,
        principal=principal,
        is_operator=is_operator,
        prefix=raw_key[: len(KEY_PREFIX) + 6],
        digest=_digest(raw_key),
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke a key. Returns False when it was already revoked (idempotent)."""
    return bool(
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def api_key_authenticate(raw_key: str) -> AuthenticatedKey | None:
    if not raw_key.startswith(KEY_PREFIX):
        return None
    row = (
        ApiKey.objects.filter(digest=_digest(raw_key), revoked_at__isnull=True)
        .values_list("principal", "prefix", "is_operator")
        .first()
    )
    if row is None:
        return None
    principal, prefix, is_operator = row
    return AuthenticatedKey(principal=principal or f"key:{prefix}", is_operator=is_operator)
