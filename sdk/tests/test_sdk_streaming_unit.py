"""SSE parsing and reconnect/resume rules, against a tiny local http.server."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openintent_sdk import AuthenticationError, Client
from openintent_sdk.streaming import SSEParser


def test_parser_frames_ids_comments_and_multiline_data():
    p = SSEParser()
    frames = p.feed(b": ping\n\nevent: state_patched\nid: 3\ndata: {\"a\":")
    assert frames == []
    frames = p.feed(b" 1}\n\nevent: x\r\ndata: line1\r\ndata: line2\r\n\r\nretry: 1500\n\ndata: {\"b\": 2}\n\n")
    assert [(f.event, f.id, f.data) for f in frames] == [
        ("state_patched", "3", {"a": 1}),
        ("x", None, {"raw": "line1\nline2"}),
        ("message", None, {"b": 2}),
    ]
    assert p.retry_ms == 1500


def test_frame_type_maps_sdk_names():
    p = SSEParser()
    (frame,) = p.feed(b"event: STATE_CHANGED\nid: abc:4\ndata: {}\n\n")
    assert frame.type == "state_patched" and frame.intent_id == "abc"


@pytest.fixture
def sse_server():
    seen_last_ids: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.headers.get("X-API-Key") != "k":
                body = b'{"detail": "Invalid or missing API key"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            last = self.headers.get("Last-Event-ID")
            seen_last_ids.append(last)
            if "/flaky/" in self.path and len(seen_last_ids) == 1:
                body = b'{"detail": "warming up"}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            start = int(last) + 1 if last else 1
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            # Two frames per connection, then the server drops the connection.
            out = b"retry: 10\n\n"
            for seq in (start, start + 1):
                out += f"event: tick\nid: {seq}\ndata: {{\"n\": {seq}}}\n\n".encode()
            self.wfile.write(out)
            self.wfile.flush()
            if "/hang/" in self.path:
                time.sleep(5)
            if self.path.endswith("/silent/subscribe") and last is None:
                time.sleep(3)  # hold the connection open without a byte: the client must time out
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen_last_ids
    server.shutdown()
    server.server_close()


def test_stream_reconnects_and_resumes_with_last_event_id(sse_server):
    url, seen = sse_server
    client = Client(url, "k", "a")
    stream = client.stream(intent_id="i1", read_timeout=5)
    got = []
    for frame in stream:
        got.append(frame.data["n"])
        if len(got) == 6:
            stream.close()
    assert got == [1, 2, 3, 4, 5, 6]
    assert seen[:3] == [None, "2", "4"]
    assert stream.connections == 3


def test_stream_starts_from_a_given_last_event_id(sse_server):
    url, seen = sse_server
    with Client(url, "k", "a").stream(agent_id="a", last_event_id="10", read_timeout=5) as stream:
        first = next(iter(stream))
    assert first.data == {"n": 11} and seen[0] == "10"


def test_stream_auth_failure_is_raised_not_looped(sse_server):
    url, seen = sse_server
    with pytest.raises(AuthenticationError):
        next(iter(Client(url, "bad", "a").stream(portfolio_id="p")))
    assert seen == []


def test_stream_needs_exactly_one_target():
    client = Client("http://127.0.0.1:1", "k", "a")
    with pytest.raises(ValueError):
        client.stream()
    with pytest.raises(ValueError):
        client.stream(intent_id="a", agent_id="b")


def test_silent_stream_times_out_and_resumes(sse_server):
    url, seen = sse_server
    started = time.monotonic()
    got = []
    with Client(url, "k", "a").stream(intent_id="silent", read_timeout=0.5) as stream:
        for frame in stream:
            got.append(frame.data["n"])
            if len(got) == 3:
                break
    assert got == [1, 2, 3] and seen[:2] == [None, "2"]
    assert time.monotonic() - started < 2.5


def test_stream_retries_a_5xx_answer(sse_server):
    url, seen = sse_server
    with Client(url, "k", "a").stream(intent_id="flaky", read_timeout=5) as stream:
        first = next(iter(stream))
    assert first.data == {"n": 1} and seen == [None, None]


def test_close_from_another_thread_unblocks_a_waiting_reader(sse_server):
    url, _ = sse_server
    stream = Client(url, "k", "a").stream(agent_id="hang", read_timeout=30)
    got = []
    reader = threading.Thread(target=lambda: got.extend(stream), daemon=True)
    reader.start()
    time.sleep(1.0)  # the reader is blocked waiting for the first byte
    started = time.monotonic()
    stream.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and time.monotonic() - started < 5
