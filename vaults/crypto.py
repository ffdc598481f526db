"""Secrets at rest (14 §4): AES-256-GCM under keys that live outside the database.

Keys come from ``OPENINTENT_VAULT_KEYS`` (newest first) or ``OPENINTENT_VAULT_KEY_FILE``; in
dev mode, with neither set, a key file is generated under ``DATA_DIR`` (with a loud warning).
Each key has an id (``kid``); every ciphertext names the key that sealed it, so old secrets
stay readable after a rotation and ``manage.py vaults_reencrypt`` moves them to the newest key.
The credential id is the associated data: a ciphertext copied onto another row fails to open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

FORMAT = "v1"
DEV_KEY_FILE_NAME = "vault.keys"


class VaultKeyError(Exception):
    """A ciphertext cannot be opened: unknown key id, wrong key, or tampered data."""


@dataclass(frozen=True)
class VaultKey:
    kid: str
    material: bytes


def generate_key_line() -> str:
    material = AESGCM.generate_key(bit_length=256)
    return f"{key_id_for(material)}:{base64.urlsafe_b64encode(material).decode()}"


def key_id_for(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:12]


def parse_key(entry: str) -> VaultKey:
    entry = entry.strip()
    kid, sep, encoded = entry.rpartition(":")
    if not sep:
        kid, encoded = "", entry
    try:
        material = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("A vault key is not valid base64.") from exc
    if len(material) != 32:
        raise ImproperlyConfigured("A vault key must be 32 bytes (AES-256), base64-encoded.")
    return VaultKey(kid=kid.strip() or key_id_for(material), material=material)


def _read_key_file(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _dev_key_file() -> Path:
    path = Path(settings.DATA_DIR) / DEV_KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Several processes may start at once: each writes a complete key to its own temp
        # file and tries to link it into place; link() fails if the name exists, so exactly
        # one key wins and nobody ever reads a half-written file.
        temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key_line() + "\n")
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
        logger.warning(
            "No vault key configured (OPENINTENT_VAULT_KEYS / OPENINTENT_VAULT_KEY_FILE): dev mode "
            "uses %s. Secrets are only as safe as that file; configure a key in production.",
            path,
        )
    return path


def configured_key_entries() -> list[str]:
    """The configured key lines, newest first; [] when nothing is configured."""
    entries = [e for e in settings.OPENINTENT_VAULT_KEYS if e.strip()]
    if not entries and settings.OPENINTENT_VAULT_KEY_FILE:
        path = Path(settings.OPENINTENT_VAULT_KEY_FILE)
        if not path.exists():
            raise ImproperlyConfigured(f"OPENINTENT_VAULT_KEY_FILE {path} does not exist.")
        entries = _read_key_file(path)
    return entries


class KeyRing:
    def __init__(self, keys: list[VaultKey]):
        if not keys:
            raise ImproperlyConfigured("No vault key configured.")
        self.keys = keys
        self.by_id = {key.kid: key for key in keys}
        if len(self.by_id) != len(keys):
            raise ImproperlyConfigured("Two vault keys share a key id.")

    @property
    def current(self) -> VaultKey:
        return self.keys[0]

    def encrypt(self, secret: dict, *, associated_data: str) -> tuple[str, str]:
        """Seal ``secret`` with the newest key. Returns ``(kid, token)``."""
        key = self.current
        nonce = os.urandom(12)
        plaintext = json.dumps(secret, separators=(",", ":"), sort_keys=True).encode()
        sealed = AESGCM(key.material).encrypt(nonce, plaintext, associated_data.encode())
        token = f"{FORMAT}:{key.kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"
        return key.kid, token

    def decrypt(self, token: str, *, associated_data: str) -> dict:
        try:
            version, kid, encoded = token.split(":", 2)
            raw = base64.urlsafe_b64decode(encoded)
        except (ValueError, binascii.Error) as exc:
            raise VaultKeyError("malformed ciphertext") from exc
        if version != FORMAT:
            raise VaultKeyError(f"unknown ciphertext format {version!r}")
        key = self.by_id.get(kid)
        if key is None:
            raise VaultKeyError(f"vault key {kid!r} is not configured")
        try:
            plaintext = AESGCM(key.material).decrypt(raw[:12], raw[12:], associated_data.encode())
        except InvalidTag as exc:
            raise VaultKeyError("ciphertext failed authentication") from exc
        return json.loads(plaintext)

    @staticmethod
    def key_id_of(token: str) -> str:
        return token.split(":", 2)[1] if token.count(":") >= 2 else ""


_lock = threading.Lock()
_cache: dict[tuple, KeyRing] = {}


def keyring() -> KeyRing:
    """The configured key ring (cached per configuration, so settings overrides in tests work)."""
    signature = (
        tuple(settings.OPENINTENT_VAULT_KEYS), settings.OPENINTENT_VAULT_KEY_FILE,
        str(settings.DATA_DIR), getattr(settings, "OPENINTENT_DEV_MODE", False),
    )
    with _lock:
        ring = _cache.get(signature)
        if ring is None:
            entries = configured_key_entries()
            if not entries:
                if not getattr(settings, "OPENINTENT_DEV_MODE", False):
                    # 14 §4.2: with no key configured, refuse to store (or read) secrets.
                    raise ImproperlyConfigured(
                        "No vault key configured: set OPENINTENT_VAULT_KEYS or OPENINTENT_VAULT_KEY_FILE."
                    )
                entries = _read_key_file(_dev_key_file())
            ring = _cache[signature] = KeyRing([parse_key(entry) for entry in entries])
        return ring


def seal(secret: dict, *, associated_data: str) -> str:
    """For other apps (e.g. trigger webhook secrets, 14 §4.6): seal with the newest key."""
    return keyring().encrypt(secret, associated_data=associated_data)[1]


def unseal(token: str, *, associated_data: str) -> dict:
    return keyring().decrypt(token, associated_data=associated_data)


def check_production_keys() -> None:
    """Production refuses to start without a configured key (called from AppConfig.ready)."""
    if getattr(settings, "OPENINTENT_DEV_MODE", False):
        return
    if not configured_key_entries():
        raise ImproperlyConfigured(
            "No vault key configured: set OPENINTENT_VAULT_KEYS or OPENINTENT_VAULT_KEY_FILE "
            "(generate one with `manage.py vaults_generate_key`)."
        )
    KeyRing([parse_key(entry) for entry in configured_key_entries()])
