"""Periodic jobs of the triggers app (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    # Fires due cron and one-shot ticks, each exactly once (17 §6).
    "triggers-schedule-tick": {"task": "triggers.tasks.schedule_tick_task", "schedule": settings.TRIGGERS_TICK_SECONDS},
    # Safety net for queued fires whose blocking intent finished (17 §6).
    "triggers-queue-sweep": {"task": "triggers.tasks.queue_drain_task", "schedule": settings.TRIGGERS_QUEUE_SWEEP_SECONDS},
}
