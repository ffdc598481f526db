"""Periodic jobs of agents and memory (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    # RFC-0016 §4: heartbeat silence → unhealthy → dead; drains complete or time out.
    "agents-health-sweep": {"task": "agents_registry.tasks.agent_health_sweep_task", "schedule": settings.OPENINTENT_AGENT_SWEEP_SECONDS},
    # RFC-0015 §4: TTL expiry and the working-memory safety sweep.
    "memory-expiry": {"task": "agents_registry.tasks.memory_expiry_task", "schedule": settings.OPENINTENT_MEMORY_EXPIRY_SECONDS},
    "memory-cleanup": {"task": "agents_registry.tasks.memory_cleanup_task", "schedule": settings.OPENINTENT_MEMORY_CLEANUP_SECONDS},
}
BEAT_SCHEDULE["tasks-timeout-sweep"] = {
    # RFC-0012 §3: claimed/running tasks past timeout_seconds fail and are retried.
    "task": "agents_registry.tasks.task_timeout_sweep_task", "schedule": settings.OPENINTENT_TASK_TIMEOUT_SWEEP_SECONDS,
}
BEAT_SCHEDULE["plans-checkpoint-timeout"] = {
    # RFC-0012 §3: waiting checkpoints past their deadline get their on_timeout.
    "task": "agents_registry.tasks.checkpoint_timeout_task", "schedule": settings.OPENINTENT_CHECKPOINT_TIMEOUT_SWEEP_SECONDS,
}
