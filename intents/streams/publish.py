"""Writers' side: store the frame with the event (inside the transaction) and wake streams
after commit. ``publish_live_frame`` is for frames that are never stored (portfolio
membership, ``portfolio_created``): other services call it from ``transaction.on_commit``."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .frames import build_frame
from .session import agent_group, intent_group, portfolio_group

log = logging.getLogger(__name__)


def on_event_recorded(sender, event, **kwargs) -> None:
    """Inside the event's transaction: the frame commits (or rolls back) with the event."""
    frame = build_frame(event)
    event._stream_agent_id = frame.agent_id


def on_event_committed(sender, event, **kwargs) -> None:
    """After commit: a wake-up for the intent's group (and the addressed agent's). The
    message carries only the event id; streams read the frame from the log."""
    groups = [intent_group(event.intent_id)]
    agent_id = getattr(event, "_stream_agent_id", None)
    if agent_id:
        groups.append(agent_group(agent_id))
    _group_send(groups, {"type": "stream.wake", "event_id": event.id, "sequence": event.sequence})


def publish_live_frame(*, portfolio_id=None, intent_id=None, agent_id=None, name: str, data: dict, membership: bool = False) -> None:
    """Push a frame that is not stored (no ``id:``, live only; 06). ``membership=True`` makes
    portfolio streams re-read their member list (intent_added / intent_removed). Call after
    commit."""
    groups = []
    if portfolio_id is not None:
        groups.append(portfolio_group(portfolio_id))
    if intent_id is not None:
        groups.append(intent_group(intent_id))
    if agent_id is not None:
        groups.append(agent_group(agent_id))
    _group_send(groups, {"type": "stream.live", "name": name, "data": data, "membership": membership})


def _group_send(groups, message) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, groups, message)
    except Exception:  # noqa: BLE001 - a lost wake-up only delays a frame (the tick re-reads)
        log.warning("stream wake-up failed for %s", groups, exc_info=True)


async def _send_all(layer, groups, message) -> None:
    for group in groups:
        await layer.group_send(group, message)


def on_intent_init(sender, instance, **kwargs) -> None:
    """Remember the state and status as loaded, for ``old_state``/``old_status`` in frames
    (06 FIX 2). Reads ``__dict__`` so deferred fields are never fetched."""
    instance._stream_loaded_state = instance.__dict__.get("state")
    instance._stream_loaded_status = instance.__dict__.get("status")
