"""Retry/backoff rules of the transport, against a tiny local http.server (no live server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openintent_sdk import (
    AuthenticationError, Client, ConflictError, ForbiddenError, LeaseConflictError, NotFoundError,
    PreconditionRequiredError, RateLimitError, ServiceUnavailableError, TransportError, UnprocessableError,
    ValidationError,
)
from openintent_sdk.errors import GoneError, ServerError
from openintent_sdk.transport import Transport, parse_retry_after


class Script:
    """Answers queued per request: (status, body, headers)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, dict]] = []
        self.requests: list[dict] = []


def make_server(script: Script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(body) if body else None})
            status, payload, headers = script.answers.pop(0) if script.answers else (200, {"ok": True}, {})
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def local():
    script = Script()
    server = make_server(script)
    sleeps: list[float] = []
    transport = Transport(f"http://127.0.0.1:{server.server_port}", "k", "agent-a", timeout=5, retries=3,
                          backoff=0.1, max_backoff=1.0, sleep=sleeps.append)
    yield script, transport, sleeps
    transport.close()
    server.shutdown()
    server.server_close()


def test_sends_key_agent_and_json_headers(local):
    script, t, _ = local
    assert t.request("POST", "/x", json_body={"a": 1}) == {"ok": True}
    req = script.requests[0]
    assert req["headers"]["X-API-Key"] == "k"
    assert req["headers"]["X-Agent-ID"] == "agent-a"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["body"] == {"a": 1}


def test_get_is_retried_on_503_and_succeeds(local):
    script, t, sleeps = local
    script.answers = [(503, {"detail": "busy"}, {}), (502, {"detail": "bad gw"}, {}), (200, {"v": 1}, {})]
    assert t.request("GET", "/x") == {"v": 1}
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    # Full jitter: each delay lies in [0, min(max_backoff, backoff * 2**(n-1))].
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2


def test_retry_after_is_respected(local):
    script, t, sleeps = local
    script.answers = [(429, {"detail": "slow down"}, {"Retry-After": "2"}), (200, {"v": 2}, {})]
    assert t.request("GET", "/x") == {"v": 2}
    assert sleeps == [2.0]


def test_retry_after_beyond_the_cap_raises_at_once(local):
    script, t, sleeps = local
    script.answers = [(429, {"detail": "Rate limit exceeded"}, {"Retry-After": "3600"})]
    with pytest.raises(RateLimitError) as err:
        t.request("GET", "/x")
    assert err.value.retry_after == 3600.0
    assert sleeps == [] and len(script.requests) == 1


def test_gives_up_after_retries(local):
    script, t, sleeps = local
    script.answers = [(503, {"detail": "down"}, {"Retry-After": "0"})] * 4
    with pytest.raises(ServiceUnavailableError) as err:
        t.request("DELETE", "/x")
    assert len(script.requests) == 4  # 1 + retries
    assert err.value.retry_after == 0.0


def test_post_without_idempotency_key_is_never_retried(local):
    script, t, sleeps = local
    script.answers = [(503, {"detail": "down"}, {}), (200, {"v": 1}, {})]
    with pytest.raises(ServiceUnavailableError):
        t.request("POST", "/x", json_body={})
    assert len(script.requests) == 1 and sleeps == []
    script.answers = [(429, {"detail": "slow"}, {"Retry-After": "1"})]
    with pytest.raises(RateLimitError) as err:
        t.request("PATCH", "/x", json_body={})
    assert err.value.retry_after == 1.0
    assert len(script.requests) == 2


def test_post_with_idempotency_key_is_retried(local):
    script, t, sleeps = local
    script.answers = [(503, {"detail": "down"}, {}), (200, {"v": 1}, {})]
    assert t.request("POST", "/x", json_body={}, idempotency_key="abc") == {"v": 1}
    assert [r["headers"]["Idempotency-Key"] for r in script.requests] == ["abc", "abc"]
    assert len(sleeps) == 1


def test_4xx_are_not_retried(local):
    script, t, sleeps = local
    script.answers = [(404, {"detail": "Intent not found"}, {})]
    with pytest.raises(NotFoundError) as err:
        t.request("GET", "/x")
    assert err.value.detail == "Intent not found" and err.value.status_code == 404
    assert len(script.requests) == 1


def test_connection_errors_retry_idempotent_only():
    sleeps: list[float] = []
    t = Transport("http://127.0.0.1:9", None, None, timeout=1, retries=2, backoff=0.01, sleep=sleeps.append)
    with pytest.raises(TransportError):
        t.request("GET", "/x")
    assert len(sleeps) == 2
    sleeps.clear()
    with pytest.raises(TransportError):
        t.request("POST", "/x", json_body={})
    assert sleeps == []


def test_backoff_is_capped_and_jittered():
    t = Transport("http://h", None, None, backoff=1.0, max_backoff=4.0)
    for attempt in range(1, 10):
        for _ in range(20):
            assert 0 <= t.backoff_delay(attempt) <= min(4.0, 2 ** (attempt - 1))


def test_parse_retry_after():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("status,body,exc", [
    (400, {"detail": [{"type": "missing", "loc": ["body", "title"], "msg": "Field required"}],
           "message": "body.title: Field required",
           "errors": [{"type": "missing", "loc": ["body", "title"], "msg": "Field required"}]}, ValidationError),
    (401, {"detail": "Invalid or missing API key"}, AuthenticationError),
    (403, {"detail": {"error": "governance_violation", "rule": "write_scope", "message": "nope"}}, ForbiddenError),
    (409, {"detail": "Version conflict", "current_version": 7}, ConflictError),
    (409, {"detail": "Lease already held for this scope", "existing_lease": {"id": "L"}}, LeaseConflictError),
    (410, {"detail": "gone"}, GoneError),
    (422, {"detail": {"error": "invalid_choice"}}, UnprocessableError),
    (428, {"detail": "If-Match header required"}, PreconditionRequiredError),
    (500, {"detail": "boom"}, ServerError),
])
def test_errors_mirror_the_protocol(local, status, body, exc):
    script, t, _ = local
    script.answers = [(status, body, {})]
    with pytest.raises(exc) as err:
        t.request("POST", "/x", json_body={})
    e = err.value
    assert e.status_code == status
    if exc is ValidationError:
        assert e.fields == {"body.title": "Field required"}
        assert str(e) == "body.title: Field required"
    if exc is ForbiddenError:
        assert e.rule == "write_scope" and e.is_governance_violation
    if exc is ConflictError:
        assert e.current_version == 7 and not isinstance(e, LeaseConflictError)
    if exc is LeaseConflictError:
        assert e.existing_lease == {"id": "L"}


def test_client_retries_setting_reaches_the_transport(local):
    script, t, _ = local
    client = Client(t.base_url, "k", "a", retries=0)
    script.answers = [(503, {"detail": "down"}, {})]
    with pytest.raises(ServiceUnavailableError):
        client.transport.request("GET", "/x")
    assert len(script.requests) == 1
