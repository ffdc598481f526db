"""Writers' side: store the frame with the event (inside the transaction) and wake streams
after commit, with the frame in the wake-up (``wakeups``). ``publish_live_frame`` is for
frames that are never stored (portfolio membership, ``portfolio_created``): other services
call it from ``transaction.on_commit``."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from openintent_project.handlers import serving_loop

from . import wakeups
from .frames import build_frame
from .session import agent_group, intent_group, portfolio_group

log = logging.getLogger(__name__)


def on_event_recorded(sender, event, **kwargs) -> None:
    """Inside the event's transaction: the frame commits (or rolls back) with the event."""
    frame, encoded = build_frame(event)
    # Kept for the wake-up after commit: the stored frame, already encoded.
    event._stream_note = (frame.agent_id, frame.name, encoded)


def on_event_committed(sender, event, **kwargs) -> None:
    """After commit: announce the event, frame included, to this process's streams at once,
    to the other web processes on this host (embedded mode), and through the channel layer
    when it reaches further than this process (Redis)."""
    note = wakeups.note_for(event)
    loop = serving_loop()
    if loop is not None and loop.is_running():
        # A request thread of a web process. The other processes first: waking our own
        # event loop makes it take the GIL, and this thread would wait for it before it
        # could send their datagrams.
        wakeups.siblings.send(note)
        # The hub routes the note to the streams of this process, before this request's
        # response is sent (it is queued after the note).
        try:
            loop.call_soon_threadsafe(wakeups.deliver_here, note)
        except RuntimeError:  # the loop closed (shutdown); nothing to wake here
            pass
        if _layer_is_local():
            return  # the in-memory layer would only reach this process: done above
    else:
        wakeups.siblings.send(note)  # a Celery worker: the web processes' streams
    groups = [intent_group(event.intent_id)]
    if note.agent_id:
        groups.append(agent_group(note.agent_id))
    _group_send(groups, note.message())


def _layer_is_local() -> bool:
    from django.conf import settings

    return settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "").endswith("InMemoryChannelLayer")


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
    """Wake the groups' streams. In a web process the send is handed to the server's event
    loop and not waited for: the write has committed, the log is the truth, and a lost
    wake-up only delays a frame until the stream's next tick. Elsewhere (Celery) it is sent
    synchronously."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = serving_loop()
    try:
        if loop is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), loop)
            future.add_done_callback(lambda done: _log_failure(done, groups))
        else:
            async_to_sync(_send_all)(layer, groups, message)
    except Exception:  # noqa: BLE001 - see above
        log.warning("stream wake-up failed for %s", groups, exc_info=True)


def _log_failure(future, groups) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("stream wake-up failed for %s: %s", groups, future.exception())


async def _send_all(layer, groups, message) -> None:
    for group in groups:
        await layer.group_send(group, message)


def on_intent_init(sender, instance, **kwargs) -> None:
    """Remember the state and status as loaded, for ``old_state``/``old_status`` in frames
    (06 FIX 2). Reads ``__dict__`` so deferred fields are never fetched."""
    instance._stream_loaded_state = instance.__dict__.get("state")
    instance._stream_loaded_status = instance.__dict__.get("status")
