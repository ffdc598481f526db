"""Signal wiring for RFC-0006 (imported by ``IntentsConfig.ready``)."""

from django.db.models.signals import post_init

from ..models import Event, Intent
from ..signals import event_committed, event_recorded
from . import publish

post_init.connect(publish.on_intent_init, sender=Intent, dispatch_uid="streams_intent_init")
event_recorded.connect(publish.on_event_recorded, sender=Event, dispatch_uid="streams_frame")
event_committed.connect(publish.on_event_committed, sender=Event, dispatch_uid="streams_wake")


def _connect_webhooks() -> None:
    from ..services import subscriptions

    event_recorded.connect(subscriptions.on_event_recorded, sender=Event, dispatch_uid="webhooks_outbox")
    event_committed.connect(subscriptions.on_event_committed, sender=Event, dispatch_uid="webhooks_enqueue")


_connect_webhooks()
