"""Hand committed events to the event-trigger matcher as a Celery task (17 §6), so a slow or
failing trigger can never fail (or slow) the write that caused it."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from intents.signals import event_committed

log = logging.getLogger(__name__)
FINISHED = ("completed", "abandoned")


@receiver(event_committed, dispatch_uid="triggers.event_committed")
def on_event_committed(sender, event, **kwargs) -> None:
    from .models import Trigger, TriggerType
    from .tasks import event_dispatch_task

    payload = event.payload if isinstance(event.payload, dict) else {}
    drains_queue = event.event_type == "status_changed" and payload.get("status") in FINISHED
    # One indexed query instead of a broker message per event when no trigger could match.
    if not drains_queue and not Trigger.objects.filter(type=TriggerType.EVENT, enabled=True).exists():
        return
    if drains_queue and not Trigger.objects.filter(pending_intent_id=event.intent_id).exists() \
            and not Trigger.objects.filter(type=TriggerType.EVENT, enabled=True).exists():
        return
    try:
        event_dispatch_task.delay(event.pk)
    except Exception:  # noqa: BLE001 - the write already committed; never fail it
        log.exception("could not enqueue event dispatch for event %s", event.pk)
