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
