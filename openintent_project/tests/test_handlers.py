"""The API and the site run through handlers that differ only in their middleware."""

from __future__ import annotations

import asyncio
import gc
import io
import sys
import threading

import pytest

from openintent_project import handlers
from openintent_project.handlers import SplitWSGIApplication, ThreadedWSGIApplication, call_on_serving_loop

pytestmark = pytest.mark.django_db


def call(app, path: str, **headers) -> tuple[str, dict, bytes]:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "REMOTE_ADDR": "127.0.0.1",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


def test_api_requests_skip_the_site_middleware():
    app = SplitWSGIApplication()
    status, headers, body = call(app, "/api/v1/intents", X_API_KEY="dev-user-key", ORIGIN="http://example.org")
    assert status.startswith("200")
    assert "X-Frame-Options" not in headers  # clickjacking middleware: site only
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")
    assert headers["Access-Control-Allow-Origin"] == "http://example.org"  # CORS: both
    assert headers["X-Content-Type-Options"] == "nosniff"  # security headers: both
    assert b'"intents"' in body


def test_api_errors_keep_the_protocol_shape_without_the_site_middleware():
    status, _, body = call(SplitWSGIApplication(), "/api/v1/intents")
    assert status.startswith("401") and b'"detail"' in body


def test_the_site_keeps_its_middleware():
    status, headers, _ = call(SplitWSGIApplication(), "/admin/login/")
    assert status.startswith("200")
    assert headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in headers.get("Set-Cookie", "")


# --- callbacks a request leaves for the event loop ---------------------------------------

def _serve(app, path="/"):
    """One request through ``ThreadedWSGIApplication`` on a fresh event loop; returns the
    ASGI messages sent and the application's result."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append((message["type"], threading.get_ident()))

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def test_a_request_s_callbacks_run_on_the_loop_before_its_response():
    events = []

    def wsgi_app(environ, start_response):
        loop_thread_busy = call_on_serving_loop(lambda: events.append(("callback", threading.get_ident())))
        events.append(("app returns", loop_thread_busy))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    app = ThreadedWSGIApplication(wsgi_app, threads=1)
    sent = _serve(app)

    assert events[0] == ("app returns", True)  # left, not run, while the request ran
    callback_thread = events[1][1]
    assert [name for name, _ in sent] == ["http.response.start", "http.response.body"]
    assert callback_thread == sent[0][1] == threading.get_ident()  # the loop's thread (asyncio.run's)


def test_callbacks_run_even_when_the_request_fails():
    ran = []

    def wsgi_app(environ, start_response):
        call_on_serving_loop(ran.append, "committed work announced")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _serve(ThreadedWSGIApplication(wsgi_app, threads=1))
    assert ran == ["committed work announced"]


def test_outside_a_web_process_nothing_is_scheduled(monkeypatch):
    monkeypatch.setattr(handlers, "_serving_loop", None)
    ran = []
    assert call_on_serving_loop(ran.append, 1) is False
    assert ran == []


def test_other_threads_wake_the_loop_at_once():
    async def main():
        loop = asyncio.get_running_loop()
        handlers._serving_loop = loop
        done = asyncio.Event()
        ran = []

        def other_thread():
            assert call_on_serving_loop(lambda: (ran.append(threading.get_ident()), done.set()))

        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.wait_for(done.wait(), 5)
        thread.join()
        return ran

    try:
        ran = asyncio.run(main())
    finally:
        handlers._serving_loop = None
    assert ran == [threading.get_ident()]  # asyncio.run's loop runs on this thread


def test_a_body_without_a_content_length_is_read_as_received():
    """A chunked upload reaches the application in pieces, with no Content-Length: Django
    reads CONTENT_LENGTH bytes, so it must be the length received."""
    seen = []

    def wsgi_app(environ, start_response):
        seen.append((environ["CONTENT_LENGTH"], environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    messages = iter([{"type": "http.request", "body": b'{"a":', "more_body": True},
                     {"type": "http.request", "body": b" 1}", "more_body": False}])

    async def receive():
        return next(messages)

    async def send(message):
        pass

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(ThreadedWSGIApplication(wsgi_app, threads=1)(scope, receive, send))
    assert seen == [("8", b'{"a": 1}')]


# --- idle reads on the loop's own thread ---------------------------------------------------

def _environ(method: str, path: str, **headers: str) -> dict:
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(name.lower().replace("_", "-").encode(), value.encode()) for name, value in headers.items()]}
    return handlers.wsgi_environ(scope, io.BytesIO(b""), 0)


def _recording_app(threads_seen: list):
    def wsgi_app(environ, start_response):
        threads_seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], threading.get_ident()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return wsgi_app


def test_an_idle_api_read_runs_on_the_loop_s_thread_and_the_rest_on_request_threads():
    seen = []
    app = ThreadedWSGIApplication(_recording_app(seen), threads=2, reads_here=handlers.is_api_read)

    async def main():
        for method, path in [("GET", "/api/v1/intents"), ("HEAD", "/api/v1/intents/x"), ("POST", "/api/v1/intents"),
                             ("GET", "/admin/"), ("GET", "/.well-known/openintent.json")]:
            assert (await app.handle(_environ(method, path))).status == 200
    asyncio.run(main())

    here = threading.get_ident()  # asyncio.run's loop runs on this thread
    assert [(method, path) for method, path, thread in seen if thread == here] == [
        ("GET", "/api/v1/intents"), ("HEAD", "/api/v1/intents/x"), ("GET", "/.well-known/openintent.json")]
    assert all(thread != here for method, path, thread in seen[2:4])


def test_a_read_while_another_request_is_in_flight_goes_to_a_request_thread():
    seen, release = [], threading.Event()

    def wsgi_app(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            release.wait(5)
        return _recording_app(seen)(environ, start_response)

    app = ThreadedWSGIApplication(wsgi_app, threads=2, reads_here=handlers.is_api_read)

    async def main():
        write = asyncio.ensure_future(app.handle(_environ("POST", "/api/v1/intents")))
        await asyncio.sleep(0.05)  # the write is on its thread
        read = await app.handle(_environ("GET", "/api/v1/intents"))
        release.set()
        return read, await write

    read, write = asyncio.run(main())
    assert read.status == write.status == 200
    assert seen[0][:2] == ("GET", "/api/v1/intents") and seen[0][2] != threading.get_ident()


def test_without_reads_here_every_request_goes_to_a_request_thread():
    seen = []
    app = ThreadedWSGIApplication(_recording_app(seen), threads=1)
    asyncio.run(app.handle(_environ("GET", "/api/v1/intents")))
    assert seen[0][2] != threading.get_ident()


def test_the_web_process_runs_idle_api_reads_on_its_loop_by_default():
    from openintent_project import asgi

    assert asgi.django_asgi_app.reads_here is handlers.is_api_read


@pytest.mark.django_db(transaction=True)
def test_a_read_that_would_write_starts_over_on_a_request_thread_and_writes_once():
    """Django reads on the loop's thread (no SynchronousOnlyOperation); its first write stops
    it there, before any lock is queued for, and it runs again, whole, on a request thread."""
    from intents.models import Intent
    from intents.tests.factories import IntentFactory

    IntentFactory(title="before")
    runs = []

    def wsgi_app(environ, start_response):
        runs.append((threading.get_ident(), Intent.objects.count()))
        from django.db import transaction

        with transaction.atomic():
            Intent.objects.filter(title="before").update(title="after")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    app = ThreadedWSGIApplication(wsgi_app, threads=1, reads_here=handlers.is_api_read)
    handled = asyncio.run(app.handle(_environ("GET", "/api/v1/intents")))
    assert handled.status == 200 and handled.body == b"ok"
    assert [count for _, count in runs] == [1, 1]
    assert runs[0][0] == threading.get_ident() and runs[1][0] != threading.get_ident()
    assert list(Intent.objects.values_list("title", flat=True)) == ["after"]
    assert app._in_flight == [0, 0]


def test_a_request_thread_runs_functions_in_order_and_hands_back_results_and_errors():
    seen = []

    def work(n):
        seen.append((n, threading.current_thread().name))
        if n == 2:
            raise KeyError(n)
        return n * 10

    async def scenario(thread):
        first, second, third = thread.run(work, 1), thread.run(work, 2), thread.run(work, 3)
        assert await first == 10
        with pytest.raises(KeyError):
            await second
        assert await third == 30
        cancelled = thread.run(work, 4)
        cancelled.cancel()  # the work still runs; its outcome goes nowhere
        assert await thread.run(work, 5) == 50

    thread = handlers.RequestThread("request-test")
    asyncio.run(scenario(thread))
    assert seen == [(n, "request-test") for n in (1, 2, 3, 4, 5)]
    running = thread._thread
    del thread  # the thread ends with its object
    gc.collect()  # (the awaited KeyError's traceback holds the scenario's frame in a cycle)
    running.join(timeout=5)
    assert not running.is_alive()
