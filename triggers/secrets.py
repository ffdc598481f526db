"""Webhook secrets at rest (17 §2, 14 §4.6): sealed with the vault key ring (AES-256-GCM
under keys kept outside the database, newest encrypts, all decrypt), so one rotation and one
``vaults_reencrypt`` run cover credentials and trigger secrets alike."""

from __future__ import annotations

from vaults.crypto import VaultKeyError, seal, unseal

_ASSOCIATED_DATA = "openintent-trigger-webhook-secret"


def secret_encrypt(plaintext: str) -> str:
    return seal({"secret": plaintext}, associated_data=_ASSOCIATED_DATA)


def secret_decrypt(token: str) -> str:
    try:
        return unseal(token, associated_data=_ASSOCIATED_DATA)["secret"]
    except (VaultKeyError, KeyError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


def secrets_reencrypt() -> int:
    """Re-seal every trigger secret with the newest key. Returns how many moved."""
    from vaults.crypto import KeyRing, keyring

    from .models import Trigger

    current = keyring().current.kid
    moved = 0
    for trigger in Trigger.objects.exclude(secret_encrypted="").only("pk", "secret_encrypted"):
        if KeyRing.key_id_of(trigger.secret_encrypted) == current:
            continue
        sealed = secret_encrypt(secret_decrypt(trigger.secret_encrypted))
        moved += Trigger.objects.filter(pk=trigger.pk, secret_encrypted=trigger.secret_encrypted).update(secret_encrypted=sealed)
    return moved
