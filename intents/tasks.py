"""Celery tasks of the intents app: thin, load by id and call the service."""

from celery import shared_task


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
