"""Writers' side: store the frame with the event (inside the transaction) and wake streams
after commit, with the frame in the wake-up (``wakeups``). ``publish_live_frame`` is for
frames that are never stored (portfolio membership, ``portfolio_created``): other services
call it from ``transaction.on_commit``."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from openintent_project.handlers import call_on_serving_loop

from . import wakeups
from .frames import build_frame, is_plain
from .hub import hubs_with_streams
from .session import agent_group, intent_group, portfolio_group

log = logging.getLogger(__name__)


def on_event_recorded(sender, event, **kwargs) -> None:
    """Inside the event's transaction: the frame commits (or rolls back) with the event. A
    plain event (``is_plain``) has no frame row: its frame is the event itself, encoded after
    commit (``note_for``), and only when a stream may want it."""
    if not is_plain(event):
        # Kept for the wake-up after commit: the frame, already encoded.
        event._stream_note = build_frame(event)


def on_event_committed(sender, event, **kwargs) -> None:
    """After commit: announce the event, frame included, to the other web processes on this
    host (embedded mode), to this process's streams (on its event loop, before this
    request's response is sent), and through the channel layer when it reaches further than
    this process (Redis). With the in-memory layer and no stream open in this process or
    any other on this host, nothing is built or sent (most writes, 30-40 µs each)."""
    local_layer = wakeups.layer_is_local()
    siblings = wakeups.siblings.receivers()  # from a Celery worker too: the web processes' streams
    here = hubs_with_streams()
    if local_layer and not siblings and not here:
        return
    note = wakeups.note_for(event)
    wakeups.siblings.send(note, siblings)
    if here:
        call_on_serving_loop(wakeups.deliver_here, note)
    if local_layer:
        return  # the in-memory layer would only reach this process: done above
    groups = [intent_group(event.intent_id)]
    if note.agent_id:
        groups.append(agent_group(note.agent_id))
    _group_send(groups, note.message())


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
    try:
        if not call_on_serving_loop(_start_sending, layer, groups, message):
            async_to_sync(_send_all)(layer, groups, message)
    except Exception:  # noqa: BLE001 - see above
        log.warning("stream wake-up failed for %s", groups, exc_info=True)


# Sends under way on this process's event loop: the loop itself keeps only weak references.
_sending: set[asyncio.Task] = set()


def _start_sending(layer, groups, message) -> None:
    """On the event loop: send without waiting; a failure is logged."""
    task = asyncio.ensure_future(_send_all(layer, groups, message))
    _sending.add(task)
    task.add_done_callback(lambda done: _sent(done, groups))


def _sent(task, groups) -> None:
    _sending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("stream wake-up failed for %s: %s", groups, task.exception())


async def _send_all(layer, groups, message) -> None:
    for group in groups:
        await layer.group_send(group, message)


def on_intent_init(sender, instance, **kwargs) -> None:
    """Remember the state and status as loaded, for ``old_state``/``old_status`` in frames
    (06 FIX 2). Reads ``__dict__`` so deferred fields are never fetched."""
    instance._stream_loaded_state = instance.__dict__.get("state")
    instance._stream_loaded_status = instance.__dict__.get("status")
