"""Plain HTTP requests run through Django's WSGI handler on a few long-lived threads.

Why not Django's ASGIHandler: it runs each request's synchronous code in a thread made for
that request, so database connections (which are per thread) were opened anew for every
request, and with the usual middleware (``MiddlewareMixin``, half sync, half async) a request
crossed between the event loop and worker threads half a dozen times. Our views, middleware
and ORM are all synchronous, so here one request is one trip to a worker thread: the whole
Django stack runs there, the thread keeps its connection (``CONN_MAX_AGE``), and the event
loop only moves bytes. Requests go to the least busy of ``threads`` threads, so one slow
request (an outbound tool call) does not hold up the others. Streams (SSE, WebSocket) are
Channels consumers and do not come here.

One exception: a read (``reads_here`` says which requests count: API GETs in this project)
that arrives while no request of the process is in flight runs on the event loop's own
thread. The trip to a request thread and back is two thread switches and a wake-up of the
loop: 0.15-0.2 ms of a 1 ms read on this project's machine. Nothing else waits while the
process is idle; a request that arrives meanwhile waits for the read to finish, then goes to
a thread. Most API reads take 1-5 ms; a page of 1,000 rows (4.5 ms for events) holds the
process's other connections up for as long, where a request thread would have let them in
between its GIL turns. A read must not wait for a lock there, which would hold up every
request and stream of the process: it runs ``read_only`` (``db.read_only``), and one that
turns out to write (a few do) is stopped before its first write and starts over on a
request thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
import threading
import weakref
from tempfile import SpooledTemporaryFile
from typing import Any, Callable, Iterator

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from openintent_project.db.read_only import WriteAttempted, read_only

log = logging.getLogger(__name__)

_serving_loop: asyncio.AbstractEventLoop | None = None
# On a request thread, while Django runs: the callbacks for the event loop that the request
# left (``call_on_serving_loop``).
_request_thread = threading.local()


def serving_loop() -> asyncio.AbstractEventLoop | None:
    """The web server's event loop in this process (None outside web processes)."""
    return _serving_loop


def call_on_serving_loop(callback: Callable[..., Any], *args: Any) -> bool:
    """Run ``callback(*args)`` on this web process's event loop, soon, without waiting for
    it. False (and nothing is run) outside web processes, where there is no such loop.

    On a request thread the callback runs when the request's work comes back to the loop,
    before its response is sent: the loop is not woken in the middle of the request. Waking
    it there (``call_soon_threadsafe`` at commit time, for every write) made the loop thread
    compete for the GIL while the request thread still had work to do: 0.2-0.3 ms per write
    in an A/B run on our 2-core machine. Other threads wake the loop at once."""
    pending = getattr(_request_thread, "pending", None)
    if pending is not None:
        pending.append((callback, args))
        return True
    loop = _serving_loop
    if loop is None or not loop.is_running():
        return False
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop closed (shutdown)
        return False
    return True


def is_api_path(environ: dict) -> bool:
    """A request to the API (``settings.API_PATH_PREFIXES``), not to the site."""
    return environ.get("PATH_INFO", "").startswith(tuple(settings.API_PATH_PREFIXES))


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_api_read(environ: dict) -> bool:
    """A GET, HEAD or OPTIONS request to the API: what a web process may run on its event
    loop's thread while idle (``ThreadedWSGIApplication``). The site's pages (the admin's
    lists, the review screens) can take tens of milliseconds to render and always go to a
    request thread."""
    return environ["REQUEST_METHOD"] in _READ_METHODS and is_api_path(environ)


class ApiWSGIHandler(WSGIHandler):
    """Django's WSGI handler with ``settings.API_MIDDLEWARE`` instead of ``MIDDLEWARE``."""

    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware builds the chain from settings.MIDDLEWARE; give it the
        # API's list for that one call. It runs once, while the application is built at
        # start-up, before any request thread exists.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


class SplitWSGIApplication:
    """Requests to the API (``settings.API_PATH_PREFIXES``) run through a handler with only
    the API's middleware; everything else (admin, review screens, docs, static files) through
    the full ``settings.MIDDLEWARE``. Settings, URLs and views are the same for both."""

    def __init__(self) -> None:
        self.api = ApiWSGIHandler()
        self.site = WSGIHandler()

    def __call__(self, environ, start_response):
        handler = self.api if is_api_path(environ) else self.site
        return handler(environ, start_response)


# Bodies up to this size are sent in one message; larger (streaming) responses are read and
# sent in pieces of about this size.
BUFFER_BYTES = 1024 * 1024


class RequestThread:
    """One long-lived thread that runs, in order, the functions the event loop hands it.

    What ``loop.run_in_executor`` does with a one-thread ``ThreadPoolExecutor``, without its
    bookkeeping (a concurrent future chained to an asyncio one, the pool's idle semaphore and
    locks): a round trip from the loop to the thread and back took 85 µs that way and 37 µs
    this way on this project's machine, for every request that goes to a thread.

    The thread starts with the first function (a process that never serves a request starts
    none) and ends when this object is garbage-collected. It is a daemon thread: at exit, a
    request still running there is abandoned, its transaction rolled back, as when its
    client's connection is cut."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, function: Callable[..., Any], *args: Any) -> asyncio.Future:
        """``function(*args)`` on the thread; an asyncio future (of the running loop) for its
        result or exception."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=_serve_queue, args=(self._queue,), name=self.name, daemon=True)
            self._thread.start()
            weakref.finalize(self, self._queue.put, None)  # ends the thread with this object
        self._queue.put((loop, future, function, args))
        return future


def _serve_queue(work: queue.SimpleQueue) -> None:
    """A ``RequestThread``'s loop (it holds only the queue, so the object can be collected)."""
    while (item := work.get()) is not None:
        loop, future, function, args = item
        try:
            outcome, error = function(*args), None
        except BaseException as exception:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome, error = None, exception
        try:
            loop.call_soon_threadsafe(_settle, future, outcome, error)
        except RuntimeError:  # the loop closed (shutdown): nobody waits for it any more
            pass
        del item, loop, future, function, args, outcome, error  # hold no request's objects while idle


def _settle(future: asyncio.Future, outcome: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(outcome)


class _Response:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info=None):
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
        return lambda data: None  # the legacy write() callable; Django never uses it


class Handled:
    """A response Django produced: its status and headers, the first part of its body, and,
    for a body larger than BUFFER_BYTES, the rest still to be read (``ThreadedWSGIApplication.more``)."""

    __slots__ = ("status", "headers", "body", "rest", "slot")

    def __init__(self, response: _Response, body: bytes, rest: "_Stream | None", slot: int) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = body
        self.rest = rest
        self.slot = slot

    @property
    def streamed(self) -> bool:
        return self.rest is not None


class ThreadedWSGIApplication:
    """Django's WSGI handler run on a few long-lived request threads, for an event loop.

    It is an ASGI application (``__call__``), which is how Channels routes to it, and it also
    offers the steps underneath to the web process's own HTTP protocol
    (``openintent_project.lean_http``): ``handle`` an environ, then, for a streamed body,
    ``more`` until it returns None and ``finish``."""

    def __init__(self, wsgi_application, threads: int = 4, reads_here: Callable[[dict], bool] | None = None):
        self.wsgi_application = wsgi_application
        self.reads_here = reads_here
        # One slot per request thread, and a last slot, None, for the loop's own thread
        # (``reads_here``, see the module docstring). ``_in_flight`` counts requests per slot.
        self._threads: list[RequestThread | None] = [RequestThread(f"request-{n}") for n in range(max(1, threads))]
        self._threads.append(None)
        self._loop_slot = len(self._threads) - 1
        self._in_flight = [0] * len(self._threads)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"HTTP only, not {scope['type']}")
        with SpooledTemporaryFile(max_size=65536) as body:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            length = body.tell()
            body.seek(0)
            handled = await self.handle(wsgi_environ(scope, body, length))
            headers = handled.headers
            if not handled.streamed and not any(name == b"content-length" for name, _ in headers):
                # The whole body is here: say its length, so the server need not chunk it.
                headers.append((b"content-length", str(len(handled.body)).encode()))
            await send({"type": "http.response.start", "status": handled.status, "headers": headers})
            if not handled.streamed:
                await send({"type": "http.response.body", "body": handled.body})
                return
            try:
                chunk = handled.body
                while True:
                    following = await self.more(handled)
                    await send({"type": "http.response.body", "body": chunk, "more_body": following is not None})
                    if following is None:
                        break
                    chunk = following
            finally:
                await self.finish(handled)

    async def handle(self, environ: dict) -> Handled:
        """Run Django for ``environ`` on the least busy request thread, or, for an idle read,
        here on the loop's thread. A streamed response keeps its thread (the one that opened
        its iterator) until ``finish``."""
        global _serving_loop
        _serving_loop = asyncio.get_running_loop()
        if self.reads_here is not None and not any(self._in_flight) and self.reads_here(environ):
            try:
                return await self._run(self._loop_slot, environ)
            except WriteAttempted:
                # Nothing was written (read_only.py); the request starts over on a thread.
                environ["wsgi.input"].seek(0)
        return await self._run(min(range(self._loop_slot), key=self._in_flight.__getitem__), environ)

    async def _run(self, slot: int, environ: dict) -> Handled:
        self._in_flight[slot] += 1
        try:
            response, body, rest = await self._in_thread(
                self._threads[slot], self._start, environ, slot == self._loop_slot
            )
        except BaseException:
            self._in_flight[slot] -= 1
            raise
        if rest is None:
            self._in_flight[slot] -= 1
        return Handled(response, body, rest, slot)

    async def more(self, handled: Handled) -> bytes | None:
        """The next part of a streamed body, None at its end."""
        return await self._in_thread(self._threads[handled.slot], self._read, handled.rest)

    async def finish(self, handled: Handled) -> None:
        """Close a streamed response (also when it was not read to the end)."""
        if handled.rest is None:
            return
        try:
            await self._in_thread(self._threads[handled.slot], self._close, handled.rest)
        finally:
            handled.rest = None
            self._in_flight[handled.slot] -= 1

    async def _in_thread(self, thread: RequestThread | None, function, *args):
        """``function(*args)`` on the request thread (on this one for the thread None);
        then, here on the loop, the callbacks it left with ``call_on_serving_loop`` (also when
        it raised: what it committed stays committed)."""
        if thread is None:
            with _loop_hidden():
                pending, outcome, error = _collecting_callbacks(function, args)
        else:
            pending, outcome, error = await thread.run(_collecting_callbacks, function, args)
        for callback, callback_args in pending:
            try:
                callback(*callback_args)
            except Exception:  # noqa: BLE001 - one failing callback must not cost the response
                log.exception("callback %r left by a request failed", callback)
        if error is not None:
            raise error
        return outcome

    def _start(self, environ: dict, reading_only: bool = False) -> tuple[_Response, bytes, Any]:
        """In the worker thread: run Django, read the body up to BUFFER_BYTES. Returns the
        remaining iterator only when there is more to stream. On the loop's thread, Django
        runs ``read_only`` (``reading_only``): a read that would write raises
        ``WriteAttempted``."""
        response = _Response()
        with read_only() if reading_only else contextlib.nullcontext():
            result = self.wsgi_application(environ, response.start_response)
        iterator = iter(result)
        pieces, size = [], 0
        for piece in iterator:
            pieces.append(piece)
            size += len(piece)
            if size >= BUFFER_BYTES:
                return response, b"".join(pieces), _Stream(result, iterator)
        self._close(_Stream(result, iterator))
        return response, b"".join(pieces), None

    @staticmethod
    def _read(stream: "_Stream") -> bytes | None:
        pieces, size = [], 0
        for piece in stream.iterator:
            pieces.append(piece)
            size += len(piece)
            if size >= BUFFER_BYTES:
                break
        return b"".join(pieces) if pieces else None

    @staticmethod
    def _close(stream: "_Stream") -> None:
        # Closing the response sends request_finished, which returns the database
        # connection (or closes it when it is too old) in this same thread.
        close = getattr(stream.result, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def _loop_hidden():
    """Run synchronous Django code on the event loop's thread, on purpose. Django refuses
    database work where an event loop runs (``SynchronousOnlyOperation``, its guard against a
    coroutine blocking the loop by mistake); for the reads ``handle`` runs here blocking the
    loop is the point. asyncio offers ``_set_running_loop`` to event loop implementations
    (uvloop uses it); the loop is back before anything else runs."""
    loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


def _collecting_callbacks(function, args) -> tuple[list, Any, BaseException | None]:
    """On a request thread: run ``function`` and collect what it left for the loop."""
    _request_thread.pending = pending = []
    try:
        return pending, function(*args), None
    except BaseException as error:  # noqa: BLE001 - re-raised on the loop by _in_thread
        return pending, None, error
    finally:
        _request_thread.pending = None


def wsgi_environ(scope: dict, body, body_length: int | None = None) -> dict:
    """The WSGI environ (PEP 3333) of an ASGI HTTP scope. ``body_length``, when known, is
    the length of the body as received: it is what Django reads, also when the client sent
    the body chunked, without a Content-Length."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name):]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        value = raw_value.decode("latin1")
        if name == "CONTENT_LENGTH":
            environ["CONTENT_LENGTH"] = value
        elif name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    if body_length is not None:
        environ["CONTENT_LENGTH"] = str(body_length)
    return environ


class _Stream:
    def __init__(self, result: Any, iterator: Iterator[bytes]) -> None:
        self.result = result
        self.iterator = iterator
