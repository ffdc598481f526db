"""Periodic jobs of the governance app (collected by openintent_project.celery)."""

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict] = {
    "governance-acl-expiry": {"task": "governance.tasks.acl_expiry_task", "schedule": settings.ACL_EXPIRY_SECONDS},
    "governance-coordinator-sweep": {
        "task": "governance.tasks.coordinator_sweep_task", "schedule": settings.COORDINATOR_SWEEP_SECONDS,
    },
    "governance-coordinator-stall": {
        "task": "governance.tasks.coordinator_stall_task", "schedule": settings.GUARDRAIL_SWEEP_SECONDS,
    },
}
