"""The web process's own HTTP/1.1 protocol (``openintent_project.lean_http``), over raw sockets
against a live server: keep-alive and pipelining, bodies in every framing, what it refuses,
and the connections it hands to daphne (streams, WebSockets)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time

import pytest
import requests

from openintent_project.lean_http import Request, error_response, status_line
from openintent_project.routing import is_stream_path
from openintent_project.testing import LiveServer, wait_for

KEY = b"dev-user-key"


@pytest.fixture(scope="module")
def live():
    with LiveServer(web_processes=1) as server:
        yield server


class Connection:
    """A raw HTTP/1.1 connection that reads responses one by one."""

    def __init__(self, server: LiveServer, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:  # before connecting: it sets the window offered
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", server.port))
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise EOFError("connection closed mid-body")
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise EOFError("connection closed")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        status = int(self._line().split(b" ")[1])
        headers: dict[str, str] = {}
        while line := self._line():
            name, value = line.decode().split(":", 1)
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (100, 101):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._line(), 16):
                body += self._take(size)
                self._take(2)
            self._take(2)
            return status, headers, body
        return status, headers, self._take(int(headers.get("content-length", 0)))

    def closed(self) -> bool:
        """Whether the server closed the connection (everything it sent was read)."""
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return False

    def close(self) -> None:
        self.sock.close()


def request(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", f"X-API-Key: {KEY.decode()}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def new_intent(conn: Connection, title: str = "lean") -> dict:
    conn.send(request("POST", "/api/v1/intents", json.dumps({"title": title}).encode()))
    status, _, body = conn.response()
    assert status == 200, body
    return json.loads(body)


def upload(conn: Connection, payload: bytes) -> str:
    """Attach ``payload`` to a new intent; returns the path it downloads from."""
    intent = new_intent(conn)
    body = json.dumps({"filename": "payload.bin", "content_type": "application/octet-stream",
                       "content_base64": base64.b64encode(payload).decode()}).encode()
    conn.send(request("POST", f"/api/v1/intents/{intent['id']}/attachments", body, {"X-Agent-ID": "agent-x"}))
    status, _, raw = conn.response()
    assert status in (200, 201), raw
    return "/" + json.loads(raw)["storage_url"].split("://", 1)[1].split("/", 1)[1]


# --- pieces --------------------------------------------------------------------------------

def test_status_lines_carry_the_reason_phrase():
    assert status_line(404) == b"HTTP/1.1 404 Not Found\r\n"
    assert status_line(599) == b"HTTP/1.1 599 \r\n"


def test_error_responses_have_the_protocol_shape_and_close():
    raw = error_response(400, "bad")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert json.loads(body) == {"detail": "bad", "message": "bad"}
    assert b"connection: close" in head and b"content-length: %d" % len(body) in head


def test_a_request_is_rebuilt_byte_for_byte_for_daphne():
    import io

    request_ = Request(b"POST", b"/a?b=1", [(b"Host", b"x"), (b"Content-Length", b"2")], io.BytesIO(b"{}"),
                       "1.1", True, True)
    request_.tail = b"next"
    assert request_.raw() == b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}next"


def test_stream_paths_are_told_apart():
    assert is_stream_path("/api/v1/subscribe/intents/abc")
    assert is_stream_path("/api/v1/agents/a-1/subscribe")
    assert not is_stream_path("/api/v1/intents/abc")
    assert not is_stream_path("/api/v1/intents/abc/events")


# --- over a live server ------------------------------------------------------------------------

def test_keep_alive_and_pipelined_requests_are_answered_in_order(live):
    conn = Connection(live)
    intent = new_intent(conn)
    path = f"/api/v1/intents/{intent['id']}"
    # Three requests in one write: a read, a write, a read that must see the write.
    patch = json.dumps({"patches": [{"op": "set", "path": "n", "value": 7}]}).encode()
    conn.send(request("GET", path) + request("POST", f"{path}/state", patch, {"If-Match": "1"}) + request("GET", path))
    first, second, third = conn.response(), conn.response(), conn.response()
    assert [first[0], second[0], third[0]] == [200, 200, 200]
    assert json.loads(first[2])["version"] == 1
    assert json.loads(third[2])["state"] == {"n": 7} and json.loads(third[2])["version"] == 2
    conn.close()


def test_a_chunked_request_body_is_read_whole(live):
    conn = Connection(live)
    body = json.dumps({"title": "chunked", "description": "x" * 5000}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:]))
    conn.send(b"POST /api/v1/intents HTTP/1.1\r\nHost: t\r\nX-API-Key: dev-user-key\r\n"
              b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    status, _, raw = conn.response()
    assert status == 200 and json.loads(raw)["description"] == "x" * 5000
    conn.close()


def test_a_body_sent_in_pieces_across_reads_is_read_whole(live):
    conn = Connection(live)
    body = json.dumps({"title": "slow"}).encode()
    raw = request("POST", "/api/v1/intents", body)
    for offset in range(0, len(raw), 7):
        conn.send(raw[offset:offset + 7])
        time.sleep(0.001)
    status, _, answer = conn.response()
    assert status == 200 and json.loads(answer)["title"] == "slow"
    conn.close()


def test_expect_100_continue_gets_the_interim_answer_first(live):
    conn = Connection(live)
    body = json.dumps({"title": "expecting"}).encode()
    conn.send(request("POST", "/api/v1/intents", body, {"Expect": "100-continue"})[: -len(body)])
    assert conn.response()[0] == 100
    conn.send(body)
    status, _, answer = conn.response()
    assert status == 200 and json.loads(answer)["title"] == "expecting"
    conn.close()


def test_head_sends_the_length_without_the_body(live):
    conn = Connection(live)
    conn.send(request("GET", "/.well-known/openintent.json"))
    _, _, full = conn.response()
    conn.send(request("HEAD", "/.well-known/openintent.json") + request("GET", "/.well-known/openintent.json"))
    status, headers, _ = conn.response(head_only=True)
    assert status == 200 and int(headers["content-length"]) == len(full)
    assert conn.response()[2] == full  # the next answer starts right after the HEAD's head
    conn.close()


def test_http_1_0_and_connection_close_end_the_connection_after_the_answer(live):
    for raw in (b"GET /.well-known/openintent.json HTTP/1.0\r\n\r\n",
                b"GET /.well-known/openintent.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"):
        conn = Connection(live)
        conn.send(raw)
        status, headers, body = conn.response()
        assert status == 200 and json.loads(body) and headers["connection"] == "close"
        assert conn.closed()
        conn.close()


@pytest.mark.parametrize("raw, reason", [
    (b"NOT HTTP AT ALL\r\n\r\n", "malformed"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n", "malformed"),
    (b"GET /api/v1/intents/\xff HTTP/1.1\r\nHost: t\r\n\r\n", "Invalid char in url"),
])
def test_malformed_requests_get_a_400_in_the_protocol_shape_and_a_close(live, raw, reason):
    conn = Connection(live)
    conn.send(raw)
    status, headers, body = conn.response()
    assert status == 400 and headers["content-type"] == "application/json"
    assert reason in json.loads(body)["message"]
    assert conn.closed()
    conn.close()


def test_header_names_with_underscores_are_dropped(live):
    """daphne's rule (CVE-2015-0219): X_API_KEY must not pass for X-API-Key."""
    conn = Connection(live)
    conn.send(b"GET /api/v1/intents HTTP/1.1\r\nHost: t\r\nX_API_KEY: dev-user-key\r\n\r\n")
    assert conn.response()[0] == 401
    conn.close()


def test_a_large_body_streams_back_intact(live):
    conn = Connection(live)
    payload = bytes(range(256)) * 10240  # 2.5 MiB: past the 1 MiB a response is sent whole
    path = upload(conn, payload)
    conn.send(request("GET", path, headers={"X-Agent-ID": "agent-x"}) + request("GET", "/.well-known/openintent.json"))
    status, _, downloaded = conn.response()
    assert status == 200 and hashlib.sha256(downloaded).digest() == hashlib.sha256(payload).digest()
    assert conn.response()[0] == 200  # the connection goes on after a streamed body
    conn.close()


def test_a_response_the_socket_takes_only_in_part_arrives_whole_and_in_order(live):
    """A whole response goes straight to the socket (``LeanHTTPProtocol._send``); what a slow
    reader's socket will not take yet is left to Twisted, and the next response on the
    connection queues behind it rather than overtaking it."""
    conn = Connection(live)
    payload = bytes(range(256)) * 2800  # 700 KiB: under 1 MiB, so sent whole
    path = upload(conn, payload)
    reader = Connection(live, receive_buffer=4096)
    # Four downloads (2.8 MB in all, more than the socket's send buffer holds) and a small
    # answer, all written while nothing is read.
    download = request("GET", path, headers={"X-Agent-ID": "agent-x"})
    reader.send(download * 4 + request("GET", "/.well-known/openintent.json"))
    time.sleep(1)
    for _ in range(4):
        status, headers, downloaded = reader.response()
        assert status == 200 and int(headers["content-length"]) == len(payload)
        assert hashlib.sha256(downloaded).digest() == hashlib.sha256(payload).digest()
    status, _, discovery = reader.response()
    assert status == 200 and "version" in json.loads(discovery)
    reader.close()
    conn.close()


def test_a_stream_request_after_plain_ones_is_handed_to_daphne_with_its_connection(live):
    conn = Connection(live)
    intent = new_intent(conn)
    conn.send(request("GET", f"/api/v1/intents/{intent['id']}"))
    assert conn.response()[0] == 200
    conn.send(request("GET", f"/api/v1/subscribe/intents/{intent['id']}", headers={"Accept": "text/event-stream"}))
    status, headers, _ = conn.response(head_only=True)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    requests.post(f"{live.url}/api/v1/intents/{intent['id']}/events", headers={"X-API-Key": KEY.decode()},
                  json={"event_type": "comment", "actor": "t", "payload": {"text": "over the handed connection"}})
    deadline = time.monotonic() + 10
    while b"over the handed connection" not in conn.buffer and time.monotonic() < deadline:
        conn._fill()
    assert b"over the handed connection" in conn.buffer
    conn.close()


def test_a_websocket_upgrade_is_handed_to_daphne(live):
    conn = Connection(live)
    intent = new_intent(conn)
    conn.send(f"GET /ws/v1/intents/{intent['id']}?api_key=dev-user-key HTTP/1.1\r\nHost: t\r\n"
              "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\nX-API-Key: dev-user-key\r\n\r\n".encode())
    status, headers, _ = conn.response()
    assert status == 101 and headers["upgrade"].lower() == "websocket"
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    conn.close()


def test_the_access_log_has_a_line_for_each_plain_request():
    server = LiveServer(web_processes=1)
    log_path = server.data_dir / "access.log"
    server.args += ["--access-log", str(log_path)]
    with server:
        conn = Connection(server)
        conn.send(request("GET", "/api/v1/intents?limit=1") + request("GET", "/api/v1/nothing-here"))
        assert [conn.response()[0], conn.response()[0]] == [200, 404]
        conn.close()
        lines = wait_for(lambda: [line for line in log_path.read_text().splitlines() if "/api/v1/" in line], timeout=10)
    assert '"GET /api/v1/intents?limit=1" 200' in lines[0] and '"GET /api/v1/nothing-here" 404' in lines[1]


def test_an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not():
    with LiveServer(web_processes=1, env={"OPENINTENT_HTTP_IDLE_SECONDS": "1"}) as server:
        idle, busy = Connection(server), Connection(server)
        idle.send(request("GET", "/.well-known/openintent.json"))
        assert idle.response()[0] == 200
        for _ in range(8):  # 2 s of requests, none more than 0.25 s apart
            busy.send(request("GET", "/.well-known/openintent.json"))
            assert busy.response()[0] == 200
            time.sleep(0.25)
        assert idle.closed()
        busy.send(request("GET", "/.well-known/openintent.json"))
        assert busy.response()[0] == 200
        idle.close()
        busy.close()
