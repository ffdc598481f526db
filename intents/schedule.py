"""Periodic jobs of the intents app (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    # RFC-0003 (03): announce expired leases once each.
    "intents-lease-expiry": {
        "task": "intents.tasks.lease_expiry_task",
        "schedule": settings.OPENINTENT_LEASE_EXPIRY_SECONDS,
    },
    # RFC-0010 (10): fallback re-assignments the on-commit task missed.
    "intents-retry-fallback-sweep": {
        "task": "intents.tasks.retry_fallback_sweep_task",
        "schedule": settings.OPENINTENT_RETRY_FALLBACK_SWEEP_SECONDS,
    },
    # RFC-0006: re-enqueue due webhook retries and deliveries left behind by a dead worker.
    "webhook-deliveries-sweep": {"task": "intents.tasks.webhook_sweep_task", "schedule": settings.WEBHOOK_SWEEP_SECONDS},
}
