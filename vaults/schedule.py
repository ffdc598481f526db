"""Periodic jobs of the vaults app (collected by openintent_project.celery), 14 §5."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    "vaults-expiry": {"task": "vaults.tasks.vault_expiry_task", "schedule": settings.OPENINTENT_VAULT_EXPIRY_SECONDS},
}
