"""Periodic jobs of the intents app (collected by openintent_project.celery)."""

BEAT_SCHEDULE: dict[str, dict] = {}
