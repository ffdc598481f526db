"""Celery tasks of the vaults app: thin wrappers around the services."""

from celery import shared_task


@shared_task(name="vaults.tasks.vault_expiry_task", ignore_result=True)
def vault_expiry_task() -> dict:
    from .services import credentials_expire, grants_expire, idempotency_claims_purge

    return {
        "grants_expired": grants_expire(), "credentials_expired": credentials_expire(),
        "idempotency_claims_purged": idempotency_claims_purge(),
    }
