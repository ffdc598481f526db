"""The web process's HTTP/1.1 protocol for plain requests; daphne keeps streams and WebSockets.

Daphne parses HTTP with ``twisted.web`` (a line at a time, in Python) and runs every request as
an ASGI application instance (a task, a queue, a Deferred, Twisted's ``Request`` and header
objects). Measured on this project's machine, that costs 257 µs of CPU for a request to a bare
ASGI function, where uvicorn (httptools) needs 83 µs; in a web process of ours the event
loop's thread spent 440 µs of CPU on every read of an intent whose Django part is 250 µs.
This protocol does the same job for the requests that end in Django:

- it parses with httptools (llhttp, the parser of Node.js and uvicorn), pipelined requests
  answered in order;
- it builds the WSGI environ itself (``handlers.wsgi_environ``, the same one the ASGI path
  uses) and hands it to ``ThreadedWSGIApplication.handle`` (one trip to a request thread);
- it writes the response in one piece, or streams a large body (chunked unless Django gave
  its length) under Twisted's flow control.

A request for a stream route (``routing.is_stream_path``: SSE) or with an ``Upgrade`` header
(WebSocket) is not served here: the connection, with that request's bytes, is handed to
daphne's own protocol, as if they had just arrived, and daphne serves it and whatever follows
on that connection, exactly as before. Proxy headers (``--proxy-headers``), the
``Daphne-Root-Path`` header, daphne's rule of dropping header names with an underscore and
its access log (``--access-log``) apply here as in daphne. A connection idle for
``OPENINTENT_HTTP_IDLE_SECONDS`` (no request being sent or answered) is closed.
"""

from __future__ import annotations

import asyncio
import collections
import io
import json
import logging
import time
import weakref
from http import HTTPStatus
from tempfile import SpooledTemporaryFile
from urllib.parse import unquote

import httptools
from daphne.utils import parse_x_forwarded_for
from twisted.internet import protocol, task, tcp
from twisted.internet.interfaces import IPushProducer
from twisted.protocols.policies import ProtocolWrapper
from zope.interface import implementer

from openintent_project.errors import ProtocolError
from openintent_project.handlers import ThreadedWSGIApplication, wsgi_environ

log = logging.getLogger(__name__)

# Request bodies up to this size stay in memory; larger ones go to a temporary file.
BODY_MEMORY_BYTES = 65536
# Reading from a connection stops while this many of its requests wait for an answer
# (pipelining), and starts again once they are answered.
MAX_QUEUED_REQUESTS = 16

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_status_lines: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    line = _status_lines.get(status)
    if line is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        line = _status_lines[status] = f"HTTP/1.1 {status} {reason}\r\n".encode("latin1")
    return line


def error_response(status: int, message: str) -> bytes:
    """A complete response in the protocol's error shape, closing the connection."""
    body = json.dumps(ProtocolError(message, status_code=status).body()).encode()
    return (status_line(status) + b"content-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % len(body) + body)


class _HandOver(Exception):
    """Raised from the parser's callback to stop it at a request for daphne."""


class Request:
    """One parsed request."""

    __slots__ = ("method", "url", "headers", "body", "body_length", "http_version", "keep_alive", "hand_over", "tail")

    def __init__(self, method: bytes, url: bytes, headers: list, body, http_version: str, keep_alive: bool,
                 hand_over: bool) -> None:
        self.method = method
        self.url = url
        self.headers = headers  # [(name as sent, value)]
        self.body = body  # a file positioned at 0, or None
        self.body_length = body.seek(0, 2) if body is not None else 0
        if body is not None:
            body.seek(0)
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.hand_over = hand_over
        self.tail = b""  # bytes after an upgrade request: the upgraded protocol's

    def raw(self) -> bytes:
        """The request as it was sent (headers unfolded), for daphne's protocol."""
        lines = [b"%s %s HTTP/%s\r\n" % (self.method, self.url, self.http_version.encode())]
        lines.extend(b"%s: %s\r\n" % (name, value) for name, value in self.headers)
        lines.append(b"\r\n")
        if self.body is not None:
            lines.append(self.body.read())
        return b"".join(lines) + self.tail


@implementer(IPushProducer)
class LeanHTTPProtocol(protocol.Protocol):
    def __init__(self, factory: "LeanHTTPFactory") -> None:
        self.factory = factory
        self.parser = httptools.HttpRequestParser(self)
        self.waiting: collections.deque[Request] = collections.deque()
        self.busy = False  # a request of this connection is being answered
        self.gone = False  # the connection is closed (or handed over)
        self.reading_paused = False
        self.stopped = False  # parsing stopped at a request for daphne
        self.response_started = False
        self._writable: asyncio.Future | None = None  # set while Twisted asks us to hold back
        self.active_at = time.monotonic()  # last data received or answer finished
        self.client: list | None = None
        self.server: list | None = None
        # The request being parsed.
        self._url = b""
        self._headers: list = []
        self._body = None
        self._upgrade = False
        self._expect_continue = False
        self._hand_over = False

    # --- connection ------------------------------------------------------------------------

    def connectionMade(self) -> None:
        peer, host = self.transport.getPeer(), self.transport.getHost()
        if hasattr(peer, "host") and hasattr(peer, "port"):
            self.client = [str(peer.host), peer.port]
            self.server = [str(host.host), host.port]
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)  # a response goes out in one write; nothing to gain from Nagle
        self.factory.connections.add(self)

    def connectionLost(self, reason=None) -> None:
        self.gone = True
        self._resume_writing()

    def dataReceived(self, data: bytes) -> None:
        self.active_at = time.monotonic()
        if self.stopped:
            # Parsing stopped at a request for daphne (see on_message_complete), the last
            # one queued: what follows belongs to the connection's next owner.
            self.waiting[-1].tail += data
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # llhttp stops after an upgrade request: the rest is the upgraded protocol's.
            self.waiting[-1].tail += data[upgrade.args[0]:]
        except httptools.HttpParserCallbackError as error:
            if not isinstance(error.__context__, _HandOver):
                raise
        except httptools.HttpParserError as error:
            self._refuse(400, f"malformed HTTP request: {error}")
            return
        if len(self.waiting) >= MAX_QUEUED_REQUESTS and not self.reading_paused:
            self.reading_paused = True
            self.transport.pauseProducing()

    def idle_for(self, now: float) -> float:
        """Seconds without a request being sent or answered (0 while one is)."""
        if self.gone or self.busy or self.waiting:
            return 0.0
        return now - self.active_at

    def close(self) -> None:
        """Close the connection once what was written has gone out."""
        self.gone = True
        self.transport.loseConnection()

    def _refuse(self, status: int, message: str) -> None:
        self.transport.write(error_response(status, message))
        self.close()

    # --- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = None
        self._upgrade = self._expect_continue = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) in (6, 7):  # the two that matter before the body: Upgrade and Expect
            lowered = name.lower()
            if lowered == b"upgrade":
                self._upgrade = True
            elif lowered == b"expect" and value.lower() == b"100-continue":
                self._expect_continue = True

    def on_headers_complete(self) -> None:
        # (llhttp refuses a URL with bytes outside ASCII: it decodes.)
        self._hand_over = self._upgrade or self.factory.is_stream_path(unquote(self._url.partition(b"?")[0].decode("ascii")))
        if self._expect_continue and not self._hand_over and not self.busy and not self.waiting:
            # The client waits for this before sending the body. (With answers still due
            # on this connection it is not sent: it would land among them; the client
            # sends the body after its own short wait.)
            self.transport.write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        if self._body is None:
            self._body = SpooledTemporaryFile(max_size=BODY_MEMORY_BYTES)
        self._body.write(chunk)

    def on_message_complete(self) -> None:
        request = Request(self.parser.get_method(), self._url, self._headers, self._body,
                          self.parser.get_http_version(), self.parser.should_keep_alive(), self._hand_over)
        self.waiting.append(request)
        self._answer_next()
        if self._hand_over:
            # Whatever follows on this connection goes with it to daphne. llhttp stops by
            # itself after an upgrade (HttpParserUpgrade, with where the rest begins); any
            # other request for daphne is a stream, whose response never ends, so nothing
            # can follow it in the same read, and raising here ends feed_data.
            self.stopped = True
            if not self.parser.should_upgrade():
                raise _HandOver()

    # --- answering ---------------------------------------------------------------------------

    def _answer_next(self) -> None:
        if self.busy or self.gone or not self.waiting:
            return
        if self.waiting[0].hand_over:
            # The parser stopped at this request: it is the last one queued. Handing over
            # waits until it is first, so earlier answers go out first.
            asyncio.get_running_loop().call_soon(self._hand_over_connection)
            self.busy = True
            return
        self.busy = True
        asyncio.ensure_future(self._answer(self.waiting.popleft()))

    async def _answer(self, request: Request) -> None:
        started = time.monotonic()
        status, size = 500, 0
        try:
            handled = await self.factory.application.handle(self._environ(request))
            status = handled.status
            size = await self._write(request, handled)
        except Exception:
            log.exception("request %s %r failed", request.method, request.url)
            if self.response_started:
                self.close()  # a broken body: only closing tells the client
            elif not self.gone:
                self._refuse(500, "internal server error")
        finally:
            if request.body is not None:
                request.body.close()
            if self.factory.server.action_logger:
                self._log(request, status, size, time.monotonic() - started)
        self.busy = self.response_started = False
        self.active_at = time.monotonic()
        if self.reading_paused and len(self.waiting) < MAX_QUEUED_REQUESTS // 2 and not self.gone:
            self.reading_paused = False
            self.transport.resumeProducing()
        self._answer_next()

    async def _write(self, request: Request, handled) -> int:
        """Write the response; returns the body's size. Closes the connection after it when
        the client asked to, or when only closing can end the body (HTTP/1.0, no length)."""
        application: ThreadedWSGIApplication = self.factory.application
        keep_alive = request.keep_alive
        head = [status_line(handled.status)]
        length_given = False
        for name, value in handled.headers:
            if name == b"content-length":
                length_given = True
            head.append(b"%s: %s\r\n" % (name, value))
        body_allowed = request.method != b"HEAD" and handled.status not in (204, 304)
        if not handled.streamed:
            if not length_given:
                head.append(b"content-length: %d\r\n" % len(handled.body))
            if not keep_alive:
                head.append(b"connection: close\r\n")
            head.append(b"\r\n")
            if body_allowed:
                head.append(handled.body)
            if not self.gone:
                self._send(b"".join(head))
                if not keep_alive:
                    self.close()
            return len(handled.body)

        chunked = not length_given and request.http_version == "1.1"
        if not length_given and not chunked:
            keep_alive = False  # HTTP/1.0 without a length: the end of the body is the close
        if chunked:
            head.append(b"transfer-encoding: chunked\r\n")
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        size = 0
        self.transport.registerProducer(self, True)
        try:
            self.response_started = True
            self.transport.write(b"".join(head))
            chunk = handled.body
            while chunk is not None and not self.gone:
                size += len(chunk)
                if body_allowed and chunk:
                    self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                if self._writable is not None:
                    await self._writable
                chunk = await application.more(handled)
            if not self.gone and body_allowed and chunked:
                self.transport.write(b"0\r\n\r\n")
        finally:
            await application.finish(handled)
            if not self.gone:
                self.transport.unregisterProducer()
        if not keep_alive and not self.gone:
            self.close()
        return size

    def _send(self, data: bytes) -> None:
        """Write a whole response. ``transport.write`` only buffers it and asks the reactor to
        send it on its next turn (two ``epoll_ctl`` calls and a wake-up: 45 µs a response on
        this project's machine); when nothing is buffered before it, the socket takes it now,
        and Twisted is left only what the socket would not take. A TLS transport wraps the
        TCP one and is not a ``tcp.Connection``: it always goes through ``write``."""
        transport = self.transport
        if (
            isinstance(transport, tcp.Connection)
            and transport.connected
            and not transport.disconnecting
            and len(transport.dataBuffer) == transport.offset
            and not transport._tempDataLen
        ):
            try:
                sent = transport.socket.send(data)
            except OSError:  # would block, or the connection is gone: Twisted finds out which
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    def _environ(self, request: Request) -> dict:
        path, _, query = request.url.partition(b"?")  # ASCII: llhttp refuses anything else
        server = self.factory.server
        root_path = server.root_path
        headers = []
        for name, value in request.headers:
            name = name.lower()
            if b"_" in name:
                continue  # daphne's rule (CVE-2015-0219): never let x_y pose as x-y
            if name == b"daphne-root-path":
                root_path = unquote(value.decode("ascii", "replace"))
            else:
                headers.append((name, value))
        client, scheme = self.client, "http"
        if server.proxy_forwarded_address_header:
            client, scheme = parse_x_forwarded_for(
                dict(headers), server.proxy_forwarded_address_header, server.proxy_forwarded_port_header,
                server.proxy_forwarded_proto_header, client, scheme)
        scope = {
            "method": request.method.decode("ascii"),
            "path": unquote(path.decode("ascii")),
            "root_path": root_path,
            "query_string": query,
            "http_version": request.http_version,
            "scheme": scheme,
            "headers": headers,
            "client": client,
            "server": self.server,
        }
        body = request.body if request.body is not None else io.BytesIO()
        return wsgi_environ(scope, body, request.body_length)

    def _log(self, request: Request, status: int, size: int, seconds: float) -> None:
        self.factory.server.log_action("http", "complete", {
            "path": request.url.decode("ascii", "replace"),
            "status": status,
            "method": request.method.decode("ascii", "replace"),
            "client": "%s:%s" % tuple(self.client) if self.client else None,
            "time_taken": seconds,
            "size": size,
        })

    # --- handing a connection to daphne ---------------------------------------------------------

    def _hand_over_connection(self) -> None:
        if self.gone:
            return
        request = self.waiting.popleft()
        self.gone = True
        transport = self.transport
        channel = self.factory.daphne.buildProtocol(transport.getPeer())
        if isinstance(transport, ProtocolWrapper):
            transport.wrappedProtocol = channel  # TLS wraps the protocol
        else:
            transport.protocol = channel
        channel.makeConnection(transport)
        if self.reading_paused:
            transport.resumeProducing()
        channel.dataReceived(request.raw())

    # --- IPushProducer: Twisted's flow control while a body streams ----------------------------

    def pauseProducing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resumeProducing(self) -> None:
        self._resume_writing()

    def stopProducing(self) -> None:
        self.gone = True
        self._resume_writing()

    def _resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class LeanHTTPFactory(protocol.Factory):
    """Builds ``LeanHTTPProtocol``; ``daphne`` is daphne's own factory, which connections are
    handed to."""

    def __init__(self, server, daphne_factory, application: ThreadedWSGIApplication, is_stream_path,
                 idle_seconds: float) -> None:
        self.server = server
        self.daphne = daphne_factory
        self.application = application
        self.is_stream_path = is_stream_path
        self.idle_seconds = idle_seconds
        self.connections: weakref.WeakSet[LeanHTTPProtocol] = weakref.WeakSet()
        self._sweeper = task.LoopingCall(self.close_idle_connections)

    def buildProtocol(self, addr):
        return LeanHTTPProtocol(self)

    def startFactory(self) -> None:
        self.daphne.doStart()
        # Checked a few times per idle period, so a connection goes at most a quarter late.
        self._sweeper.start(max(0.25, min(60.0, self.idle_seconds / 4)), now=False)

    def stopFactory(self) -> None:
        if self._sweeper.running:
            self._sweeper.stop()
        self.daphne.doStop()

    def close_idle_connections(self) -> None:
        now = time.monotonic()
        for connection in list(self.connections):
            if connection.idle_for(now) > self.idle_seconds:
                connection.close()
