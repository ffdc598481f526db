"""Periodic jobs of the triggers app (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    # Fires due cron and one-shot ticks, each exactly once (17 §6). A tick message that waited
    # longer than a few periods (workers down) expires: the next tick does the same work.
    "triggers-schedule-tick": {
        "task": "triggers.tasks.schedule_tick_task",
        "schedule": settings.TRIGGERS_TICK_SECONDS,
        "options": {"expire_seconds": max(int(settings.TRIGGERS_TICK_SECONDS * 4), 10)},
    },
    # Safety net for queued fires whose blocking intent finished (17 §6).
    "triggers-queue-sweep": {
        "task": "triggers.tasks.queue_drain_task",
        "schedule": settings.TRIGGERS_QUEUE_SWEEP_SECONDS,
        "options": {"expire_seconds": max(int(settings.TRIGGERS_QUEUE_SWEEP_SECONDS * 2), 10)},
    },
}
