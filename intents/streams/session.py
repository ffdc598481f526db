"""A stream is a cursor over the event log (ARCHITECTURE.md, "Streams").

``StreamSession`` holds the cursor of one SSE or WebSocket connection: it joins the wake-up
groups, fixes the starting point (``Last-Event-ID`` or the current end of the log), and
then, on every wake-up or keepalive tick, sends the frames after its cursor through
``emit``. An intent stream takes a frame from its wake-up note (``wakeups``) when the note's
sequence is the next one after the cursor, and reads the log whenever it cannot be sure it
has everything (a gap, a note without its frame, a keepalive tick), so nothing is missed
when a note is lost. Multi-intent streams always read the log, below the watermark."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Awaitable, Callable

from .reads import db_read
from django.conf import settings

from . import reads
from .hub import hub

log = logging.getLogger(__name__)

INTENT, PORTFOLIO, AGENT = "intents", "portfolios", "agents"

# emit([(name, data as encoded JSON text, frame id or None), ...]): one or more frames, in
# order, sent together (one write on SSE).
Emit = Callable[[list], Awaitable[None]]


def intent_group(intent_id) -> str:
    return f"oi.intent.{str(intent_id).lower()}"


def agent_group(agent_id: str) -> str:
    # Group names allow only [a-zA-Z0-9_.-] and < 100 chars; agent ids are free text.
    return f"oi.agent.{hashlib.sha256(agent_id.encode()).hexdigest()[:40]}"


def portfolio_group(portfolio_id) -> str:
    return f"oi.portfolio.{str(portfolio_id).lower()}"


class StreamSession:
    def __init__(self, *, kind: str, target: str, channel_layer, channel_name: str, emit: Emit, keepalive: Callable[[], Awaitable[None]]):
        self.kind = kind
        self.target = target
        self.layer = channel_layer
        self.channel_name = channel_name
        self.emit = emit
        self.keepalive = keepalive
        self.groups: set[str] = set()
        self.intent_ids: set = set()
        self.intent_uuid = reads.as_uuid(target) if kind == INTENT else None
        self.agent_id = target if kind == AGENT else None
        self.cursor = 0  # sequence (intent stream) or global event id (multi-intent)
        self.pending = 0  # highest event id we were woken for (multi-intent)
        # Multi-intent streams opened without Last-Event-ID: ids above the cursor already
        # committed when the stream opened. It starts at the end of the log (06), but its
        # cursor can only start at the hub's floor, which a gap below them holds back.
        self.committed_before_open: set[int] = set()
        self.late_sent: set[int] = set()
        self.late_wanted: set[int] = set()
        self._wakeup = asyncio.Event()
        self.wanted_sequence = 0  # intent streams: highest sequence we were woken for
        self.inbox: list[tuple[int, str, str]] = []  # intent streams: (sequence, name, data) from notes
        self._fresh = True  # next intent read must be a query of its own
        self._refresh_members = False
        self._task: asyncio.Task | None = None
        self.hub = hub()

    # --- start-up ------------------------------------------------------------------------

    async def open(self, last_event_id: str | None) -> None:
        """Join groups and fix the cursor, before the first body byte (06, "Start-up")."""
        self.hub.register(self)
        if self.kind == INTENT:
            await self._set_groups({intent_group(self.target)})
            self.hub.watch(self, intents=[self.intent_uuid] if self.intent_uuid else [], agent=None)
            self.cursor = await db_read(self._intent_start)(last_event_id)
        else:
            await self._load_members()
            # A read started now: the floor may be stale if this process had no stream lately.
            await self.hub.refresh()
            floor = self.hub.floor
            start = None
            if last_event_id:
                start = await db_read(reads.resolve_multi_id)(last_event_id, self.intent_ids, self.agent_id)
            if start is not None:
                self.cursor = start
            else:
                self.cursor = floor
                self.committed_before_open = set(self.hub.seen)  # the hub keeps only ids above its floor

    def _intent_start(self, last_event_id: str | None) -> int:
        if self.intent_uuid is None:
            return 0
        head = reads.intent_head(self.intent_uuid)
        value = (last_event_id or "").strip()
        if value.isdigit() and 0 < int(value) <= head:
            return int(value)
        return head

    async def _load_members(self) -> None:
        if self.kind == PORTFOLIO:
            members = await db_read(reads.portfolio_intent_ids)(self.target)
            groups = {portfolio_group(self.target)}
        else:
            members = await db_read(reads.agent_intent_ids)(self.target)
            groups = {agent_group(self.target)}
        self.intent_ids = {m for m in members if m is not None}
        groups |= {intent_group(i) for i in self.intent_ids}
        await self._set_groups(groups)
        self.hub.watch(self, intents=self.intent_ids, agent=self.agent_id)

    async def _set_groups(self, groups: set[str]) -> None:
        for group in groups - self.groups:
            await self.layer.group_add(group, self.channel_name)
        for group in self.groups - groups:
            await self.layer.group_discard(group, self.channel_name)
        self.groups = groups

    # --- running -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def wake(self, event_id: int | None = None, sequence: int | None = None, *, frame: tuple[str, str] | None = None, membership: bool = False) -> None:
        """A committed event (or a reason to look). ``frame`` is the (name, encoded data) of
        the event's intent-stream frame when the note carried it."""
        if sequence is None and self.kind == INTENT:
            self._fresh = True  # no sequence to wait for: read anew
        elif sequence is not None:
            if sequence <= self.cursor and self.kind == INTENT:
                return  # sent already (a duplicate note, or the tick catching up)
            self.wanted_sequence = max(self.wanted_sequence, sequence)
            if frame is not None and self.kind == INTENT:
                self.inbox.append((sequence, *frame))
        if event_id is not None:
            if self.kind != INTENT and event_id <= self.cursor and self.hub.is_late(event_id):
                self.late_wanted.add(event_id)
            self.pending = max(self.pending, event_id)
        if membership:
            self._refresh_members = True
        self._wakeup.set()

    async def _run(self) -> None:
        keepalive = settings.STREAMS_KEEPALIVE_SECONDS
        try:
            await self._drain()  # replay after Last-Event-ID (nothing without it)
            while True:
                try:
                    # ``asyncio.timeout`` rather than ``wait_for``: no task per wait.
                    async with asyncio.timeout(keepalive):
                        await self._wakeup.wait()
                except TimeoutError:
                    await self.keepalive()
                    self._fresh = True  # re-read the log: a lost wake-up only delays a frame
                    if self.kind != INTENT:
                        await self.hub.refresh()
                        self._refresh_members = True
                self._wakeup.clear()
                await self._drain()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the connection ends; the client resumes with Last-Event-ID
            log.exception("stream %s/%s failed", self.kind, self.target)
            raise

    async def _drain(self) -> None:
        if self.kind == INTENT:
            await self._drain_intent()
        else:
            await self._drain_multi()

    async def _drain_intent(self) -> None:
        if self.intent_uuid is None:
            return
        fresh, self._fresh = self._fresh, False
        await self._send_inbox()
        if self.cursor >= self.wanted_sequence and not fresh:
            return  # every event we were told about is sent: no read needed
        while True:
            last, frames, full = await self.hub.intent_frames_after(self.intent_uuid, self.cursor, fresh=fresh)
            batch = [(name, encoded, str(sequence)) for sequence, name, encoded in frames]
            self.cursor = max(self.cursor, last)
            if batch:
                await self.emit(batch)
            if full:
                fresh = False
                continue
            if self.cursor >= self.wanted_sequence or fresh:
                return
            fresh = True  # the shared read began before our commit: read once more

    async def _send_inbox(self) -> None:
        """Send the frames of notes that follow the cursor without a gap, in one write. A
        gap (an earlier note not here) stops it: the log read that follows has everything."""
        if not self.inbox:
            return
        inbox, self.inbox = sorted(self.inbox), []
        batch = []
        for sequence, name, encoded in inbox:
            if sequence <= self.cursor:
                continue  # a duplicate
            if sequence != self.cursor + 1:
                break
            self.cursor = sequence
            if name:  # "": the event is not on the intent stream, but the cursor moves on
                batch.append((name, encoded, str(sequence)))
        if batch:
            await self.emit(batch)

    async def _drain_multi(self) -> None:
        if self._refresh_members:
            self._refresh_members = False
            await self._load_members()
        delay = 0.005
        # Wait (briefly) until everything we were woken for is below the watermark; the gap
        # timeout bounds the wait, so a bogus wake-up cannot stall the stream.
        give_up = time.monotonic() + settings.STREAMS_GAP_TIMEOUT_SECONDS + 2.0
        while self.pending > (self.hub.floor or 0) and time.monotonic() < give_up:
            await self.hub.refresh()
            if self.pending <= self.hub.floor:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        self.pending = min(self.pending, self.hub.floor or 0)
        while True:
            floor = self.hub.floor or 0
            late = [i for i in self.late_wanted if i not in self.late_sent]
            self.late_wanted.clear()
            if floor <= self.cursor and not late:
                return
            last, frames = await db_read(reads.multi_frames)(
                self.intent_ids, self.agent_id, after_id=self.cursor, upto_id=max(floor, self.cursor), ids=late
            )
            restart = False
            for event_id, frame_id, name, encoded in frames:
                if event_id in self.committed_before_open:
                    continue  # backlog from before the stream opened
                if event_id <= self.cursor:
                    if event_id in self.late_sent:
                        continue
                    self.late_sent.add(event_id)
                await self.emit([(name, encoded, frame_id)])
                if self.kind == AGENT and name in ("agent_assigned", "agent_unassigned"):
                    # The relayed intent set changed: read on from here with the new set.
                    self.cursor = max(self.cursor, event_id)
                    self.late_wanted |= {i for i in late if i not in self.late_sent}
                    await self._load_members()
                    restart = True
                    break
            if restart:
                continue
            if last <= self.cursor and not late:
                return
            self.cursor = max(self.cursor, last)
            if self.committed_before_open:
                self.committed_before_open = {i for i in self.committed_before_open if i > self.cursor}
            if not late and last >= floor:
                return

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self.hub.unregister(self)
        for group in self.groups:
            try:
                await self.layer.group_discard(group, self.channel_name)
            except Exception:  # noqa: BLE001 - the layer may be gone at shutdown
                pass
        self.groups = set()
