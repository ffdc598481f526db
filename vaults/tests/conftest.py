"""Fixtures for the vaults tests: a fixed key ring, loopback destinations allowed (the
upstream test services run on 127.0.0.1), and a tiny upstream HTTP service in a thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import make_client

from ..crypto import generate_key_line

TEST_KEY = generate_key_line()


@pytest.fixture(autouse=True)
def vault_settings(settings):
    settings.OPENINTENT_VAULT_KEYS = [TEST_KEY]
    settings.OPENINTENT_VAULT_KEY_FILE = ""
    settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = True
    return settings


class Upstream:
    """Records every request; answers with ``self.reply`` (status, JSON body)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply = (200, {"ok": True})
        self.replies: list[tuple[int, object]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.requests.append({
                    "method": self.command, "path": self.path, "headers": dict(self.headers), "body": body,
                })
                status, payload = upstream.replies.pop(0) if upstream.replies else upstream.reply
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    service = Upstream()
    yield service
    service.close()


@pytest.fixture
def agent_api(db):
    return make_client(agent_id="agent-tool")


def post(api, path, body, status=200):
    response = api.post(path, body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def make_vault(api, **extra):
    return post(api, "/api/v1/vaults", {"owner_id": "owner-1", "name": "main", **extra})


def make_credential(api, vault_id, **extra):
    body = {"vault_id": vault_id, "service": "search", "label": "Search API", **extra}
    return post(api, "/api/v1/credentials", body)


def make_grant(api, credential_id, **extra):
    body = {"credential_id": credential_id, "agent_id": "agent-tool", "granted_by": "owner-1", **extra}
    return post(api, "/api/v1/grants", body)
