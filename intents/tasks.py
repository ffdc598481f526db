"""Celery tasks of the intents app: thin wrappers that call the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(name="intents.tasks.lease_expiry_task")
def lease_expiry_task() -> int:
    """Announce expired leases once each (03). Scheduled by beat (``intents/schedule.py``)."""
    from .services.leases import lease_expire_due

    return lease_expire_due(batch=settings.OPENINTENT_LEASE_EXPIRY_BATCH)


@shared_task(name="intents.tasks.retry_fallback_task")
def retry_fallback_task(intent_id: str, failing_agent_id: str) -> bool:
    """Apply the RFC-0010 fallback for one (intent, agent) if due (enqueued on commit of a
    failure record)."""
    from .services.retries import retry_fallback_apply

    return retry_fallback_apply(intent_id=intent_id, failing_agent_id=failing_agent_id) is not None


@shared_task(name="intents.tasks.retry_fallback_sweep_task")
def retry_fallback_sweep_task() -> int:
    """Beat sweep for fallbacks the on-commit task missed (10)."""
    from .services.retries import retry_fallback_sweep

    return retry_fallback_sweep()


@shared_task(name="intents.tasks.webhook_deliver_task", ignore_result=True)
def webhook_deliver_task(delivery_id: str) -> None:
    from intents.services.subscriptions import delivery_attempt

    delivery_attempt(delivery_id)


@shared_task(name="intents.tasks.webhook_sweep_task", ignore_result=True)
def webhook_sweep_task() -> None:
    from intents.services.subscriptions import deliveries_sweep

    deliveries_sweep()


@shared_task(name="intents.tasks.event_append_task", ignore_result=True)
def event_append_task(intent_id: str, event_type: str, actor: str, payload: dict | None = None) -> None:
    """Append an event from the background (integrations, scheduled notes). Runs as the
    system principal; streams of every process receive it like any other write."""
    from intents.services.core import event_append
    from openintent_project.api.principal import SYSTEM

    event_append(principal=SYSTEM, intent_id=intent_id, event_type=event_type, actor=actor, payload=payload)
