"""Celery tasks of the triggers app: thin, load by id and call the service."""

from celery import shared_task


@shared_task(name="triggers.tasks.schedule_tick_task")
def schedule_tick_task() -> int:
    from .services import schedule_tick

    return schedule_tick()


@shared_task(name="triggers.tasks.event_dispatch_task")
def event_dispatch_task(event_id: int) -> int:
    from .services import event_dispatch

    return event_dispatch(event_id=event_id)


@shared_task(name="triggers.tasks.queue_drain_task")
def queue_drain_task() -> int:
    from .services import queue_drain

    return queue_drain()


@shared_task(name="triggers.tasks.lifecycle_event_dispatch_task")
def lifecycle_event_dispatch_task(event_type: str, actor: str, payload: dict, key: str) -> int:
    from .services import lifecycle_event_dispatch

    return lifecycle_event_dispatch(event_type=event_type, actor=actor, payload=payload, key=key)
