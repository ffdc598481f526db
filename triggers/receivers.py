"""Hand committed events to the event-trigger matcher as a Celery task (17 §6), so a slow or
failing trigger can never fail (or slow) the write that caused it.

Whether an event can match at all is decided inside the writing transaction, as the webhook
outbox is: its reads run on the snapshot the write already holds, where the same query after
commit had to open a read transaction of its own (40 µs a write against 25 µs here)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from agents_registry.signals import agent_event
from intents.events import register_interest
from intents.signals import event_committed, event_recorded

log = logging.getLogger(__name__)
FINISHED = ("completed", "abandoned")


ENABLED_EVENT_TRIGGERS = "triggers.enabled_event_triggers"


def _enabled_event_triggers():
    from .models import Trigger, TriggerType

    return Trigger.objects.filter(type=TriggerType.EVENT, enabled=True)


register_interest(ENABLED_EVENT_TRIGGERS, _enabled_event_triggers)


@receiver(event_recorded, dispatch_uid="triggers.event_recorded")
def on_event_recorded(sender, event, interests, **kwargs) -> None:
    """Inside the event's transaction: could a trigger react to it? An indexed check (asked
    with the other apps' in one statement, ``register_interest``) instead of a broker message
    per event when none could: an enabled event trigger, or a finished intent that a
    trigger's queue waits on."""
    from .models import Trigger

    payload = event.payload if isinstance(event.payload, dict) else {}
    drains_queue = event.event_type == "status_changed" and payload.get("status") in FINISHED
    waited_on = drains_queue and Trigger.objects.filter(pending_intent_id=event.intent_id).exists()
    event._may_fire_triggers = waited_on or interests[ENABLED_EVENT_TRIGGERS]


@receiver(event_committed, dispatch_uid="triggers.event_committed")
def on_event_committed(sender, event, **kwargs) -> None:
    from .tasks import event_dispatch_task

    if not getattr(event, "_may_fire_triggers", False):
        return
    try:
        event_dispatch_task.delay(event.pk)
    except Exception:  # noqa: BLE001 - the write already committed; never fail it
        log.exception("could not enqueue event dispatch for event %s", event.pk)


@receiver(agent_event, dispatch_uid="triggers.agent_event")
def on_agent_event(sender, agent_id, event_type, payload, actor, **kwargs) -> None:
    """Agent lifecycle events (16) can fire event triggers too; sent after commit."""
    from .services import lifecycle_event_emitted

    try:
        lifecycle_event_emitted(event_type=event_type, actor=actor, payload={"agent_id": agent_id, **(payload or {})})
    except Exception:  # noqa: BLE001 - the lifecycle change already committed; never fail it
        log.exception("could not dispatch agent event %s for triggers", event_type)
