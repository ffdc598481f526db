"""Periodic jobs of the intents app (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    # RFC-0006: re-enqueue due webhook retries and deliveries left behind by a dead worker.
    "webhook-deliveries-sweep": {"task": "intents.tasks.webhook_sweep_task", "schedule": settings.WEBHOOK_SWEEP_SECONDS},
}
