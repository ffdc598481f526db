"""Signal wiring for RFC-0006 (imported by ``IntentsConfig.ready``)."""

from django.db.models.signals import post_init

from ..events import register_interest
from ..models import Event, Intent
from ..signals import event_committed, event_recorded
from . import publish

post_init.connect(publish.on_intent_init, sender=Intent, dispatch_uid="streams_intent_init")
event_recorded.connect(publish.on_event_recorded, sender=Event, dispatch_uid="streams_frame")
event_committed.connect(publish.on_event_committed, sender=Event, dispatch_uid="streams_wake")


def _connect_webhooks() -> None:
    from ..services import subscriptions

    register_interest(subscriptions.ACTIVE_WEBHOOKS, subscriptions.active_webhooks)
    event_recorded.connect(subscriptions.on_event_recorded, sender=Event, dispatch_uid="webhooks_outbox")
    event_committed.connect(subscriptions.on_event_committed, sender=Event, dispatch_uid="webhooks_enqueue")


_connect_webhooks()


def _relay_portfolio_frame(sender, portfolio_id, event_type, data, **kwargs) -> None:
    """Portfolio changes are not stored events: push them live (06) and make open portfolio
    streams re-read their members when membership changed."""
    membership = event_type in ("intent_added", "intent_removed")
    publish.publish_live_frame(portfolio_id=portfolio_id, name=event_type, data=data, membership=membership)


def _connect_portfolio_frames() -> None:
    from ..services.portfolios import portfolio_frame

    portfolio_frame.connect(_relay_portfolio_frame, dispatch_uid="streams_portfolio_frames")


_connect_portfolio_frames()
