"""Server-Sent Events: a parser and a reconnecting, resuming iterator (spec 06).

``EventStream`` opens ``/api/v1/{intents|portfolios|agents}/{id}/subscribe``, yields
:class:`~openintent_sdk.models.StreamEvent` objects, and when the connection drops (network
error, read timeout, the body ending, a 5xx) reconnects with ``Last-Event-ID`` set to the last
``id:`` it saw, so the server replays what was missed. 401/403/404 answers are raised, never
retried in a loop.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
from http.client import HTTPException
from typing import Iterator

import requests
import urllib3.exceptions

from .errors import ServerError, TransportError, error_from_response
from .models import StreamEvent

log = logging.getLogger("openintent_sdk.stream")


class SSEParser:
    """Incremental SSE parser: ``feed(bytes)`` returns the complete frames seen so far."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        self._buffer += chunk
        frames = []
        while True:
            idx = min((i for i in (self._buffer.find(b"\n"), self._buffer.find(b"\r")) if i >= 0), default=-1)
            if idx < 0:
                break
            line = self._buffer[:idx]
            rest = self._buffer[idx + 1:]
            if self._buffer[idx:idx + 1] == b"\r":
                if not rest:
                    # A lone \r at the end of the buffer may be the first half of \r\n.
                    break
                if rest.startswith(b"\n"):
                    rest = rest[1:]
            self._buffer = rest
            frame = self._line(line.decode("utf-8", errors="replace"))
            if frame is not None:
                frames.append(frame)
        return frames

    def _line(self, line: str) -> StreamEvent | None:
        if line == "":
            if not self._data:
                self._event, self._id = "", None
                return None
            text = "\n".join(self._data)
            try:
                data = json.loads(text)
            except ValueError:
                data = {"raw": text}
            frame = StreamEvent(event=self._event or "message", data=data, id=self._id)
            self._event, self._data, self._id = "", [], None
            return frame
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self.retry_ms = int(value)
        return None


def _shutdown(response: requests.Response | None) -> None:
    """Unblock a thread reading ``response`` (best effort)."""
    if response is None:
        return
    try:
        sock = response.raw._fp.fp.raw._sock  # http.client → BufferedReader → SocketIO → socket
        sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - best effort only
        pass
    try:
        response.close()
    except Exception:  # noqa: BLE001
        pass


class EventStream:
    """Iterate over SSE frames; reconnect and resume with ``Last-Event-ID``.

    ``read_timeout`` should exceed the server's 15 s keepalive: a silent connection is
    treated as dropped and reopened. ``max_failures`` consecutive failed connections raise
    :class:`TransportError` (``None`` = never give up). ``close()`` may be called from any
    thread; iteration then stops.
    """

    def __init__(self, transport, path: str, *, last_event_id: str | None = None,
                 read_timeout: float = 45.0, connect_timeout: float = 10.0,
                 reconnect: bool = True, max_failures: int | None = 10,
                 reconnect_delay: float = 0.5, max_reconnect_delay: float = 30.0) -> None:
        self.transport = transport
        self.path = path
        self.last_event_id = last_event_id
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self.max_failures = max_failures
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.connections = 0
        self._closed = threading.Event()
        self._response: requests.Response | None = None
        self._lock = threading.Lock()
        # A separate session: a stream holds its connection for a long time.
        self._session = requests.Session()
        self._session.headers.update(transport.default_headers())

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            _shutdown(self._response)
        self._session.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._frames()

    def _open(self) -> requests.Response:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        response = self._session.get(self.transport.url(self.path), headers=headers, stream=True,
                                     timeout=(self.connect_timeout, self.read_timeout))
        if response.status_code != 200:
            error = error_from_response(response)
            response.close()
            raise error
        return response

    def _frames(self) -> Iterator[StreamEvent]:
        failures = 0
        parser = SSEParser()
        while not self.closed:
            try:
                response = self._open()
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self.closed:
                    return
                failures += 1
                if not self.reconnect or (self.max_failures is not None and failures >= self.max_failures):
                    raise TransportError(f"stream {self.path}: {exc}") from exc
                self._sleep(parser, failures)
                continue
            except ServerError:
                # 5xx while (re)connecting is transient: back off and try again.
                if self.closed:
                    return
                failures += 1
                if not self.reconnect or (self.max_failures is not None and failures >= self.max_failures):
                    raise
                self._sleep(parser, failures)
                continue
            except Exception:
                # Any other error answer (401, 403, 404, …) is raised: retrying cannot fix it.
                if self.closed:
                    return
                raise
            with self._lock:
                self._response = response
            if self.closed:
                _shutdown(response)
                return
            self.connections += 1
            failures = 0
            parser = SSEParser()
            try:
                for chunk in self._chunks(response):
                    for frame in parser.feed(chunk):
                        if frame.id is not None:
                            self.last_event_id = frame.id
                        yield frame
                        if self.closed:
                            return
            except (requests.RequestException, urllib3.exceptions.HTTPError, HTTPException, OSError, ValueError,
                    AttributeError) as exc:
                if self.closed:
                    return
                log.debug("stream %s dropped: %s", self.path, exc)
            finally:
                with self._lock:
                    self._response = None
                response.close()
            if self.closed or not self.reconnect:
                return
            failures += 1
            if self.max_failures is not None and failures >= self.max_failures:
                raise TransportError(f"stream {self.path}: gave up after {failures} failed reconnects")
            self._sleep(parser, failures)

    @staticmethod
    def _chunks(response: requests.Response) -> Iterator[bytes]:
        raw = response.raw
        read1 = getattr(raw, "read1", None)
        if read1 is not None:
            while True:
                chunk = read1(65536)
                if not chunk:
                    return
                yield chunk
        else:  # pragma: no cover - older urllib3
            yield from response.iter_content(chunk_size=1)

    def _sleep(self, parser: SSEParser, failures: int) -> None:
        if parser.retry_ms is not None:
            delay = parser.retry_ms / 1000.0
        else:
            delay = min(self.max_reconnect_delay, self.reconnect_delay * 2 ** max(0, failures - 1))
            delay = delay / 2 + random.uniform(0, delay / 2)
        self._closed.wait(delay)
