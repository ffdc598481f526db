"""Wake-ups that carry the frame, so a stream can send it without reading the log.

After a commit the writer announces the event (``Note``) to the streams that may want it:

* this process's streams: handed to the event loop (``call_on_serving_loop``: when the
  writing request's work returns to the loop) and routed by the hub, no channel layer in
  between, so the frame is on its way before the write's own response;
* the other web processes on this host, in embedded mode (in-memory channel layer): one Unix
  datagram to each process that holds streams (``Siblings``);
* other hosts, in production: the channel layer (Redis), as before.

A note is only a hint. The log stays the source of truth: a stream sends a note's frame only
when its sequence is the next one after the stream's cursor; on a gap (an earlier note lost,
dropped or still on its way) it reads the log, as it does when a note is lost altogether
(the hub's tick). Duplicates are harmless (a sequence at or below the cursor is skipped).
The bytes are the same as a log read would give on SQLite; on PostgreSQL a replayed frame
may list its JSON keys in another order (jsonb), which no JSON reader can tell apart.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

log = logging.getLogger(__name__)

# Larger frames travel without their data: the stream reads them from the log.
MAX_FRAME_CHARS = 32 * 1024
# Unix socket paths are limited to 108 bytes (sun_path).
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True, slots=True)
class Note:
    event_id: int
    intent_id: str
    sequence: int
    agent_id: str | None = None
    # The intent-stream frame: name ("" when the event is not on the intent stream) and data
    # as encoded JSON. None when the note does not carry it (too large, or unknown).
    name: str | None = None
    encoded: str | None = None

    @property
    def frame(self) -> tuple[str, str] | None:
        return None if self.name is None or self.encoded is None else (self.name, self.encoded)

    # --- channel-layer message (``stream.wake``) ------------------------------------------

    def message(self) -> dict:
        return {
            "type": "stream.wake", "event_id": self.event_id, "intent_id": self.intent_id,
            "sequence": self.sequence, "agent_id": self.agent_id, "name": self.name, "data": self.encoded,
        }

    @classmethod
    def from_message(cls, message: dict) -> "Note":
        return cls(
            message.get("event_id"), message.get("intent_id"), message.get("sequence"),
            message.get("agent_id"), message.get("name"), message.get("data"),
        )

    # --- datagram: one line of JSON (the header), then the frame's encoded data as is ----

    def to_bytes(self) -> bytes:
        header = json.dumps([self.event_id, self.intent_id, self.sequence, self.agent_id, self.name])
        return f"{header}\n{self.encoded if self.name is not None else ''}".encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Note":
        header, _, encoded = raw.decode().partition("\n")
        event_id, intent_id, sequence, agent_id, name = json.loads(header)
        return cls(int(event_id), str(intent_id), int(sequence), agent_id, name, encoded if name is not None else None)


@cache
def layer_is_local() -> bool:
    """True with the in-memory channel layer (embedded mode): it reaches only this process.
    Read once (every write asks), and again when a test changes the settings."""
    return settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "").endswith("InMemoryChannelLayer")


@cache
def _streams_directory() -> Path | None:
    data_dir = getattr(settings, "DATA_DIR", None)
    if not layer_is_local() or data_dir is None:
        return None
    path = Path(data_dir) / "streams"
    if len(str(path)) + 12 > _MAX_SOCKET_PATH:
        return None  # too long for a socket path: the WAL check alone wakes streams
    return path


@receiver(setting_changed)
def _forget_settings(setting, **kwargs) -> None:
    if setting in ("CHANNEL_LAYERS", "DATA_DIR"):
        layer_is_local.cache_clear()
        _streams_directory.cache_clear()


def note_for(event) -> Note:
    """The note of a committed event. ``on_event_recorded`` stashed the frame on it, except
    for a plain event's, which is encoded here."""
    from .frames import is_plain, plain_frame

    stashed = getattr(event, "_stream_note", None)
    if stashed is None:
        stashed = plain_frame(event) if is_plain(event) else (None, None, None)
    name, agent_id, encoded = stashed
    if encoded is not None and len(encoded) > MAX_FRAME_CHARS:
        name = encoded = None
    return Note(event.id, str(event.intent_id), event.sequence, agent_id, name, encoded)


def deliver_here(note: Note) -> None:
    """On the event loop: hand the note to this loop's hub, if it has streams."""
    from .hub import existing_hub

    current = existing_hub()
    if current is not None and current.sessions:
        current.deliver(note)


# --- other web processes on this host (embedded mode) ------------------------------------

class Siblings:
    """Web processes that hold streams bind a Unix datagram socket named after their pid in
    ``<DATA_DIR>/streams/`` (mode 0700: only this user can send); writers send each note to
    every socket there but their own. Sends never block: when a receiver's queue is full the
    note is dropped and the receiver's WAL check (``STREAMS_WAL_CHECK_SECONDS``) finds the
    event in the log instead. Only used with the in-memory channel layer; with Redis the
    layer carries notes across processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pid = 0
        self.dropped = 0
        self._reported = 0.0

    # Where the sockets are; None when notes do not travel this way. Every write asks: built
    # once (settings do not change in a running process), 40 µs an append.
    directory = staticmethod(_streams_directory)

    def _sender(self) -> socket.socket:
        with self._lock:
            if self._sock is None or self._pid != os.getpid():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                self._sock, self._pid = sock, os.getpid()
            return self._sock

    def receivers(self) -> list[str]:
        """The sockets of the other web processes on this host that hold streams."""
        directory = self.directory()
        if directory is None:
            return []
        try:
            names = os.listdir(directory)
        except OSError:
            return []  # no process holds streams yet
        me = str(os.getpid())
        return [str(directory / name) for name in names if name != me and name.isdigit()]

    def send(self, note: Note, receivers: list[str] | None = None) -> None:
        """Send ``note`` to ``receivers`` (by default, ``receivers()``)."""
        if receivers is None:
            receivers = self.receivers()
        if not receivers:
            return
        payload = note.to_bytes()
        sock = self._sender()
        for path in receivers:
            try:
                sock.sendto(payload, path)
            except BlockingIOError:
                self._drop()  # the receiver is behind; its log reads catch up
            except ConnectionRefusedError:
                _unlink(path)  # left behind by a process that died
            except FileNotFoundError:
                pass  # the process just closed its last stream
            except OSError as error:  # e.g. EMSGSIZE: the receiver reads the log instead
                log.debug("stream note to %s not sent: %s", path, error)


    def _drop(self) -> None:
        # Not an error (the frame comes from the log instead), but a sign of an overloaded
        # process: counted, and reported at most once a minute.
        self.dropped += 1
        now = time.monotonic()
        if now - self._reported >= 60.0:
            self._reported = now
            log.info("%d stream notes dropped so far (a receiving web process was behind)", self.dropped)


siblings = Siblings()


class Receiver:
    """The receiving end in a web process, open while its hub holds streams."""

    def __init__(self, loop, on_note) -> None:
        self.loop = loop
        self.on_note = on_note
        self.sock: socket.socket | None = None
        self.path: str | None = None

    def open(self) -> bool:
        directory = Siblings.directory()
        if directory is None:
            return False
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = str(directory / str(os.getpid()))
            _unlink(path)  # a stale socket of an earlier process with our pid
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(path)
            sock.setblocking(False)
        except OSError:
            log.warning("stream notes from other processes disabled", exc_info=True)
            return False
        self.sock, self.path = sock, path
        self.loop.add_reader(sock.fileno(), self._readable)
        return True

    def _readable(self) -> None:
        while self.sock is not None:
            try:
                raw = self.sock.recv(MAX_FRAME_CHARS * 4 + 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                note = Note.from_bytes(raw)
            except (ValueError, TypeError):
                log.warning("malformed stream note ignored")
                continue
            self.on_note(note)

    def close(self) -> None:
        if self.sock is None:
            return
        try:
            self.loop.remove_reader(self.sock.fileno())
        except Exception:  # noqa: BLE001 - the loop may be closing
            pass
        self.sock.close()
        self.sock = None
        if self.path:
            _unlink(self.path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
