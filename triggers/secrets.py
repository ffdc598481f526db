"""Webhook secrets at rest: AES-256-GCM under keys that live outside the database (17 §2,
14 §4). Several keys may be configured (``TRIGGERS_SECRET_KEYS``, newest first): the newest
encrypts, all decrypt. Without configured keys, one key is derived from ``SECRET_KEY``.

Kept in one small module so the integrator can point it at the vault's key ring."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_AAD = b"openintent-trigger-secret-v1"


def _keys() -> list[bytes]:
    configured = [k for k in settings.TRIGGERS_SECRET_KEYS if k]
    if not configured:
        return [hashlib.sha256(b"openintent-triggers:" + settings.SECRET_KEY.encode()).digest()]
    keys = []
    for text in configured:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(key) != 32:
            raise ImproperlyConfigured("TRIGGERS_SECRET_KEYS entries must be 32 bytes, urlsafe base64")
        keys.append(key)
    return keys


def secret_encrypt(plaintext: str) -> str:
    key = _keys()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _AAD)
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def secret_decrypt(token: str) -> str:
    if not token.startswith("v1:"):
        raise ValueError("unknown secret format")
    raw = base64.urlsafe_b64decode(token[3:])
    nonce, sealed = raw[:12], raw[12:]
    for key in _keys():
        try:
            return AESGCM(key).decrypt(nonce, sealed, _AAD).decode()
        except Exception:  # noqa: BLE001 - InvalidTag: try the next (older) key
            continue
    raise ValueError("no configured key decrypts this secret")
