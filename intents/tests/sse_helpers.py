"""Raw SSE readers for stream tests: a frame reader in a thread, so tests can write while
they listen and close the connection whenever they like."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import requests

KEY = "dev-user-key"


class Frames:
    """Reads one SSE connection into a queue of (id, event, data) tuples."""

    def __init__(self, url: str, *, api_key: str = KEY, last_event_id: str | None = None, agent_id: str | None = None):
        headers = {"X-API-Key": api_key, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        if agent_id:
            headers["X-Agent-ID"] = agent_id
        self.queue: queue.Queue = queue.Queue()
        self.comments: list[str] = []
        self.headers: dict = {}
        self.status: int | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._ready = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise AssertionError("stream did not open")

    def _run(self, url, headers):
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.status = response.status_code
                self.headers = dict(response.headers)
                self._ready.set()
                frame: dict = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                        continue
                    if not line:
                        if "data" in frame:
                            self.queue.put((frame.get("id"), frame.get("event", "message"), json.loads(frame["data"])))
                        frame = {}
                        continue
                    field, _, value = line.partition(":")
                    frame[field] = value[1:] if value.startswith(" ") else value
        except Exception:  # noqa: BLE001 - closed by the test
            pass
        finally:
            self._ready.set()

    def take(self, count: int, timeout: float = 10.0) -> list[tuple]:
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                out.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                break
        return out

    def quiet(self, seconds: float) -> list[tuple]:
        """Everything that arrives within ``seconds`` (to assert nothing more comes)."""
        return self.take(10**9, timeout=seconds)

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=5)


def create_intent(base: str, title: str = "stream test", agent: str = "agent-x") -> dict:
    response = requests.post(f"{base}/api/v1/intents", json={"title": title}, headers={"X-API-Key": KEY, "X-Agent-ID": agent}, timeout=10)
    response.raise_for_status()
    return response.json()


def post_event(base: str, intent_id: str, i: int, session: requests.Session | None = None) -> dict:
    http = session or requests
    response = http.post(
        f"{base}/api/v1/intents/{intent_id}/events",
        json={"event_type": "comment", "actor": "tester", "payload": {"i": i}},
        headers={"X-API-Key": KEY}, timeout=10,
    )
    response.raise_for_status()
    return response.json()


def assign(base: str, intent_id: str, agent_id: str) -> dict:
    response = requests.post(f"{base}/api/v1/intents/{intent_id}/agents", json={"agent_id": agent_id}, headers={"X-API-Key": KEY}, timeout=10)
    response.raise_for_status()
    return response.json()
