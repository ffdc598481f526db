"""Fault-injection tools for the production-mode reliability tests (issue 9).

* ``PrivateRedis`` — a ``redis-server`` of the test's own on a free port, so it can be killed
  and restarted; the machine's shared Redis on 6379 is never touched.
* ``TcpProxy`` — sits between the server and PostgreSQL; ``cut()`` drops every connection and
  refuses new ones until ``restore()``: a database outage without stopping a cluster anyone
  else uses, and without root.
* ``CeleryWorker`` — a worker process group of the test's own, so it can be SIGKILLed in the
  middle of a task while the web processes and beat keep running.
* ``HookReceiver`` — an HTTP endpoint that records webhook deliveries and can hold the first
  one open (so a worker can be killed while it is delivering).
* ``SSEReader`` — reads an SSE stream in a thread and records the ``id:`` of every frame.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from openintent_project.testing import ROOT, free_port, port_open


# Settings (read from the environment by the features' settings modules) that make background
# work fast enough to watch in a test: webhook sweeps and retries, trigger ticks, stream polls.
# Unknown names are harmless before a feature is merged. Loopback webhook receivers must be
# allowed explicitly (outbound URLs to private addresses are refused by default).
FAST_BACKGROUND_ENV = {
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_SWEEP_SECONDS": "2",
    "WEBHOOK_STUCK_SECONDS": "5",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "1",
    "WEBHOOK_BACKOFF_MAX_SECONDS": "4",
    "WEBHOOK_TIMEOUT_SECONDS": "60",
    "TRIGGERS_TICK_SECONDS": "2",
    "STREAMS_POLL_SECONDS": "0.5",
}


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        if shutil.which("redis-server") is None:
            import pytest

            pytest.skip("redis-server is not installed: the Redis fault needs a private server to kill")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for(lambda: port_open("127.0.0.1", self.port), 10, message=f"redis on {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL: no persistence, so every queued message in it is gone too — the worst
        case. Whatever must not be lost has to be in PostgreSQL."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        wait_for(lambda: not port_open("127.0.0.1", self.port), 10, message="redis to stop")

    def __enter__(self) -> "PrivateRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


class TcpProxy:
    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.refused = 0
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def url_for(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        scheme, rest = database_url.split("://", 1)
        credentials, _, tail = rest.rpartition("@")
        path = tail.split("/", 1)[1]
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/{path}"

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self.listener.close()


class CeleryWorker:
    """``celery worker`` in its own process group, with the live server's settings."""

    def __init__(self, env: dict[str, str], log_path, concurrency: int = 1) -> None:
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryWorker":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openintent_project", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"reliability-{free_port()}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole group (main process and pool children): no warm shutdown, no
        chance to ack or requeue anything."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class HookReceiver:
    """Records every POST it gets as (path, json body). With ``hold_first``, the first
    request is not answered until ``release()``."""

    def __init__(self, hold_first: bool = False) -> None:
        self.deliveries: list[dict] = []
        self.first_arrived = threading.Event()
        self._release = threading.Event()
        self._hold = hold_first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                with receiver._lock:
                    first = not receiver.deliveries
                    receiver.deliveries.append({"path": self.path, "body": body, "at": time.monotonic()})
                if first:
                    receiver.first_arrived.set()
                    if receiver._hold:
                        receiver._release.wait(120)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self._release.set()

    def event_ids(self) -> list[str]:
        with self._lock:
            return [d["body"]["event"]["id"] for d in self.deliveries
                    if isinstance(d["body"], dict) and isinstance(d["body"].get("event"), dict)]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class SSEReader:
    """Reads one SSE stream in a thread; ``ids`` are the ``id:`` lines of the frames seen.
    Reconnects with ``Last-Event-ID`` when the connection drops, as a client should."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.ids: list[str] = []
        self.statuses: list[int] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._response = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = dict(self.headers)
            if self.ids:
                headers["Last-Event-ID"] = self.ids[-1]
            try:
                with requests.get(self.url, headers=headers, stream=True, timeout=(5, 30)) as response:
                    self._response = response
                    self.statuses.append(response.status_code)
                    if response.status_code != 200:
                        time.sleep(0.5)
                        continue
                    self.connected.set()
                    for line in response.iter_lines(decode_unicode=True):
                        if self._stop.is_set():
                            return
                        if line and line.startswith("id:"):
                            self.ids.append(line[3:].strip())
            except (requests.RequestException, AttributeError, ValueError):
                if self._stop.is_set():
                    return
                time.sleep(0.3)

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race
                pass
        self.thread.join(timeout=5)


def has_route(path: str, method: str) -> bool:
    """Whether the server (this checkout's URLconf) routes ``method path`` to a view."""
    from django.urls import Resolver404, resolve

    from .routes import view_methods

    try:
        match = resolve(path)
    except Resolver404:
        return False
    if match.func.__name__ == "not_found":
        return False
    return method.lower() in view_methods(match.func)


def intent_stream_path(intent_id: str) -> str | None:
    """The SDK's intent stream route (06 §1), wherever it is served (a Channels route or a
    Django view), or None while it does not exist."""
    import re

    from .routes import stream_routes

    for route in stream_routes():
        if re.fullmatch(r"/api/v1/intents/\{[^}]+\}/subscribe", route.template):
            return route.template.split("{")[0] + intent_id + "/subscribe"
    path = f"/api/v1/intents/{intent_id}/subscribe"
    return path if has_route(path, "get") else None


def pg_connect(database_url: str):
    import psycopg

    return psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True)
