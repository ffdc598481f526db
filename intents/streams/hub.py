"""One hub per web process: it routes wake-ups, tails the event log and keeps the commit
watermark.

*Wake-ups.* Writers announce each committed event with a note that carries its frame
(``wakeups``): writes in this process hand it to ``deliver`` on the event loop, other local
processes send it as a datagram to the hub's ``Receiver``, and with Redis it comes through
the channel layer (the consumers pass it on). The hub routes notes to the streams of the
intent (and of the addressed agent).

*Tail.* Notes are hints and can be lost (a full receive queue, a process without a serving
loop, a writer outside this host without Redis), so the hub also reads the ids of new events
once per ``STREAMS_POLL_SECONDS`` — one indexed query per process, whatever the number of
streams, and none while the process holds no stream — and wakes the local streams they
concern.

*Watermark.* ``Event.id`` is allocated at insert but becomes visible at commit; on
PostgreSQL a larger id can commit before a smaller one. Multi-intent streams (portfolio,
agent) use the global id as their cursor, so they only read up to ``floor``: every id at or
below it is committed or known to be missing. A missing id (a gap) is a transaction still in
flight or one that rolled back; it holds ``floor`` back for at most
``STREAMS_GAP_TIMEOUT_SECONDS``, then is "given up". A given-up id that appears later (a
very long transaction) is still delivered, late, as the hub keeps checking for it for a
minute (``late``). Intent streams order by the per-intent sequence and need none of this.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections import defaultdict

from django.conf import settings

from . import reads, wakeups
from .reads import db_read

log = logging.getLogger(__name__)
GIVEN_UP_KEEP_SECONDS = 60.0


class LogHub:
    def __init__(self) -> None:
        self.floor: int | None = None
        self.seen: set[int] = set()  # ids above floor already seen
        self.gaps: dict[int, float] = {}  # missing id above floor -> first noticed
        self.given_up: dict[int, float] = {}  # id -> when given up
        self.late: dict[int, float] = {}  # given-up ids that appeared -> when
        self.by_intent: dict[str, weakref.WeakSet] = defaultdict(weakref.WeakSet)
        self.by_agent: dict[str, weakref.WeakSet] = defaultdict(weakref.WeakSet)
        self.sessions: weakref.WeakSet = weakref.WeakSet()
        self._started = 0
        self._completed = 0
        self._task: asyncio.Future | None = None
        self._ticker: asyncio.Task | None = None
        self._reads: dict = {}  # (intent id, after sequence) -> in-flight shared read
        self._wal_path = _sqlite_wal_path()
        self._wal_seen = None
        self._receiver = None

    # --- registration --------------------------------------------------------------------

    def register(self, session) -> None:
        self.sessions.add(session)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick())
        if self._receiver is None:
            # Notes from the other web processes, while this one holds streams.
            receiver = wakeups.Receiver(asyncio.get_running_loop(), self.deliver)
            self._receiver = receiver if receiver.open() else False

    def unregister(self, session) -> None:
        self.sessions.discard(session)
        self.watch(session, intents=(), agent=None)

    def watch(self, session, *, intents, agent) -> None:
        """Route tail wake-ups for ``intents`` (and frames addressed to ``agent``) to ``session``."""
        for key in list(getattr(session, "_hub_intents", ())):
            self.by_intent[key].discard(session)
            if not self.by_intent[key]:
                del self.by_intent[key]
        old_agent = getattr(session, "_hub_agent", None)
        if old_agent is not None:
            self.by_agent[old_agent].discard(session)
            if not self.by_agent[old_agent]:
                del self.by_agent[old_agent]
        session._hub_intents = {str(i) for i in intents}
        session._hub_agent = agent
        for key in session._hub_intents:
            self.by_intent[key].add(session)
        if agent is not None:
            self.by_agent[agent].add(session)

    # --- the tick ------------------------------------------------------------------------

    async def _tick(self) -> None:
        """While this process holds streams: read the log every ``STREAMS_POLL_SECONDS``.
        On SQLite a ``stat`` of the WAL file (it changes on every commit, by any process)
        is checked every ``STREAMS_WAL_CHECK_SECONDS`` in between, so writes from other
        processes arrive within milliseconds without a query per check. While this process
        receives notes from the other processes (``Receiver``), the notes carry the frames and
        the WAL check is only a safety net for a dropped note, so it runs every
        ``STREAMS_NOTED_WAL_CHECK_SECONDS`` instead (under a steady write load the WAL
        changes on every check, and a query per 10 ms was the hub's main cost)."""
        last_read = time.monotonic()
        try:
            while self.sessions:
                step = settings.STREAMS_POLL_SECONDS
                if self._wal_path is not None:
                    wal_step = settings.STREAMS_NOTED_WAL_CHECK_SECONDS if self._receiver else settings.STREAMS_WAL_CHECK_SECONDS
                    step = min(step, wal_step)
                await asyncio.sleep(step)
                if not self.sessions:
                    break
                now = time.monotonic()
                due = now - last_read >= settings.STREAMS_POLL_SECONDS or self._wal_changed()
                if not due:
                    continue
                last_read = now
                try:
                    await self.refresh()
                except Exception:  # noqa: BLE001 - a failed tick is retried on the next one
                    log.exception("stream hub tick failed")
        finally:
            self._ticker = None
            if self._receiver:
                self._receiver.close()
            self._receiver = None

    def _wal_changed(self) -> bool:
        if self._wal_path is None:
            return False
        try:
            info = os.stat(self._wal_path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = None
        changed = stamp != self._wal_seen
        self._wal_seen = stamp
        return changed

    async def intent_frames_after(self, intent_id, after: int, *, fresh: bool):
        """Shared read for intent streams: subscribers at the same cursor share one query
        (one query per write, not one per subscriber). A shared read may have started
        before the commit a subscriber was woken for; the subscriber then asks again with
        ``fresh=True``, which always starts a new query."""
        key = (intent_id, after)
        future = None if fresh else self._reads.get(key)
        if future is None:
            future = asyncio.ensure_future(db_read(reads.intent_frames_after)(intent_id, after))
            self._reads[key] = future
            future.add_done_callback(lambda f, key=key: self._reads.get(key) is f and self._reads.pop(key, None))
        return await asyncio.shield(future)

    async def refresh(self) -> None:
        """Read the log once, started after this call (single flight: concurrent callers
        share the next read)."""
        ticket = self._started + 1
        while self._completed < ticket:
            if self._task is None:
                self._started += 1
                self._task = asyncio.ensure_future(self._read(self._started))
            await asyncio.shield(self._task)

    async def _read(self, number: int) -> None:
        try:
            if self.floor is None:
                head = await db_read(reads.log_head)()
                if self.floor is None:
                    # Start a little behind the head, so ids still in flight at start-up go
                    # through the gap rules instead of being assumed settled.
                    self.floor = max(0, head - 50)
            floor = self.floor
            rows = await db_read(reads.log_ids_after)(floor)
            pending = [i for i in self.given_up if i not in self.late]
            late_rows = await db_read(reads.log_ids_in)(pending) if pending else []
            self._absorb(rows, late_rows)
        finally:
            self._completed = max(self._completed, number)
            self._task = None

    def _absorb(self, rows, late_rows) -> None:
        now = time.monotonic()
        for event_id, intent_id, agent_id, sequence in late_rows:
            if event_id not in self.late:
                self.late[event_id] = now
                self._wake(event_id, intent_id, agent_id, sequence)
        for event_id, intent_id, agent_id, sequence in rows:
            if event_id <= self.floor or event_id in self.seen:
                continue
            self.seen.add(event_id)
            self.gaps.pop(event_id, None)
            self._wake(event_id, intent_id, agent_id, sequence)
        top = max(self.seen, default=self.floor)
        for missing in range(self.floor + 1, top):
            if missing not in self.seen:
                self.gaps.setdefault(missing, now)
        timeout = settings.STREAMS_GAP_TIMEOUT_SECONDS
        while True:
            nxt = self.floor + 1
            if nxt in self.seen:
                self.seen.discard(nxt)
            elif nxt in self.gaps and now - self.gaps[nxt] >= timeout:
                del self.gaps[nxt]
                self.given_up[nxt] = now
            else:
                break
            self.floor = nxt
        for store in (self.given_up, self.late):
            for key in [k for k, t in store.items() if now - t > GIVEN_UP_KEEP_SECONDS]:
                store.pop(key, None)
                if store is self.given_up:
                    self.late.pop(key, None)

    def deliver(self, note) -> None:
        """A note (``wakeups.Note``) of a committed event: wake the streams it concerns,
        handing intent streams its frame."""
        self._wake(note.event_id, note.intent_id, note.agent_id, note.sequence, note.frame)

    def _wake(self, event_id: int, intent_id, agent_id, sequence: int, frame=None) -> None:
        for session in list(self.by_intent.get(str(intent_id), ())):
            session.wake(event_id, sequence, frame=frame)
        if agent_id is not None:
            for session in list(self.by_agent.get(agent_id, ())):
                session.wake(event_id, sequence)

    def is_late(self, event_id: int) -> bool:
        return event_id in self.late or event_id in self.given_up


def _sqlite_wal_path() -> str | None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return name + "-wal"


_hubs: dict[int, LogHub] = {}


def hubs_with_streams() -> bool:
    """Whether this process holds streams (a hub of it has sessions). Writers ask from
    request threads: a stream that opens just after a writer asked misses that writer's note
    and gets the frame from the log instead, as with any lost note."""
    return any(current.sessions for current in list(_hubs.values()))


def existing_hub() -> LogHub | None:
    """The running loop's hub if it has one (a process that never held a stream has none)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(id(loop))
    return current if current is not None and getattr(current, "_loop", None) is loop else None


def hub() -> LogHub:
    """The hub of the running event loop (daphne runs one loop per process)."""
    current = existing_hub()
    if current is None:
        loop = asyncio.get_running_loop()
        current = _hubs[id(loop)] = LogHub()
        current._loop = loop
    return current
