"""The SSE consumer in-process (Channels' ApplicationCommunicator): portfolio streams
through their one resolver, and disconnects that release everything."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import ApplicationCommunicator

from intents.services import core
from intents.streams import reads
from intents.streams.hub import hub
from openintent_project.routing import http_stream_routes

pytestmark = pytest.mark.django_db(transaction=True)


def scope(path: str, headers=None) -> dict:
    return {
        "type": "http", "method": "GET", "path": path, "query_string": b"", "scheme": "http",
        "headers": [(b"x-api-key", b"dev-user-key"), *(headers or [])],
    }


async def read_frames(comm, count: int, timeout: float = 5.0) -> list[str]:
    frames: list[str] = []
    buffer = ""
    while len(frames) < count:
        message = await comm.receive_output(timeout)
        buffer += message["body"].decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            if "data:" in block:
                frames.append(block)
    return frames


def parse(block: str) -> dict:
    fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":"))
    fields["data"] = json.loads(fields["data"])
    return fields


def test_portfolio_stream_follows_member_intents_via_the_resolver(monkeypatch, owner):
    a = core.intent_create(principal=owner, title="A")
    b = core.intent_create(principal=owner, title="B")
    outsider = core.intent_create(principal=owner, title="not a member")
    portfolio_id = "11111111-1111-1111-1111-111111111111"
    monkeypatch.setattr(reads, "portfolio_intent_ids", lambda pid: [a.pk, b.pk] if str(pid) == portfolio_id else [])

    def append(intent, i):
        core.event_append(principal=owner, intent_id=intent.pk, event_type="comment", actor="t", payload={"i": i})

    async def scenario():
        app = URLRouter(http_stream_routes)
        comm = ApplicationCommunicator(app, scope(f"/api/v1/portfolios/{portfolio_id}/subscribe"))
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await comm.receive_output(5)
        assert start["status"] == 200
        await comm.receive_output(5)  # retry + ": connected"
        await database_sync_to_async(append)(a, 1)
        await database_sync_to_async(append)(outsider, 2)
        await database_sync_to_async(append)(b, 3)
        frames = [parse(f) for f in await read_frames(comm, 2)]
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait(5)
        return frames

    frames = async_to_sync(scenario)()
    assert [(f["id"], f["event"], f["data"]["payload"]["i"]) for f in frames] == [
        (f"{a.pk}:2", "comment", 1), (f"{b.pk}:2", "comment", 3)
    ]


@pytest.mark.parametrize("kind", ["portfolio", "agent"])
def test_a_multi_intent_stream_sends_no_backlog_when_a_gap_holds_the_log_floor_back(kind, monkeypatch, owner, settings):
    """Without Last-Event-ID a stream starts at the end of the log (06). An event id missing
    below the head (a transaction rolled back, or still in flight) holds the hub's floor back
    until the gap timeout; events committed above it before the stream opened are backlog
    and are not sent, events committed after are."""
    from django.db import connection

    settings.STREAMS_GAP_TIMEOUT_SECONDS = 1.0
    core.intent_create(principal=owner, title="below the gap")
    with connection.cursor() as cursor:  # three ids that never commit, as after rollbacks on PostgreSQL
        cursor.execute("UPDATE sqlite_sequence SET seq = seq + 3 WHERE name = 'intents_event'")
    a = core.intent_create(principal=owner, title="A")
    b = core.intent_create(principal=owner, title="B")
    core.event_append(principal=owner, intent_id=a.pk, event_type="comment", actor="t", payload={"i": 0})
    if kind == "portfolio":
        portfolio_id = "22222222-2222-2222-2222-222222222222"
        monkeypatch.setattr(reads, "portfolio_intent_ids", lambda pid: [a.pk, b.pk] if str(pid) == portfolio_id else [])
        path = f"/api/v1/portfolios/{portfolio_id}/subscribe"
    else:  # the intents an agent is assigned to
        monkeypatch.setattr(reads, "agent_intent_ids", lambda agent_id: [a.pk, b.pk] if agent_id == "watcher" else [])
        path = "/api/v1/subscribe/agents/watcher"

    async def scenario():
        app = URLRouter(http_stream_routes)
        comm = ApplicationCommunicator(app, scope(path))
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        assert (await comm.receive_output(5))["status"] == 200
        await comm.receive_output(5)  # retry + ": connected"
        assert hub().floor < max(hub().seen, default=0)  # the gap holds the floor below the backlog
        await database_sync_to_async(core.event_append)(
            principal=owner, intent_id=b.pk, event_type="comment", actor="t", payload={"i": 1})
        frames = [parse(f) for f in await read_frames(comm, 1)]
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait(5)
        return frames

    frames = async_to_sync(scenario)()
    assert [(f["id"], f["event"], f["data"]["payload"]["i"]) for f in frames] == [(f"{b.pk}:2", "comment", 1)]


def test_disconnect_leaves_groups_and_the_hub(owner):
    intent = core.intent_create(principal=owner, title="A")

    async def scenario():
        app = URLRouter(http_stream_routes)
        comm = ApplicationCommunicator(app, scope(f"/api/v1/subscribe/intents/{intent.pk}"))
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        assert (await comm.receive_output(5))["status"] == 200
        await comm.receive_output(5)
        layer = get_channel_layer()
        group = f"oi.intent.{intent.pk}"
        assert len(layer.groups.get(group, {})) == 1 and len(hub().sessions) == 1
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait(5)
        await asyncio.sleep(0)
        return len(layer.groups.get(group, {})), len(hub().sessions), len(hub().by_intent)

    assert async_to_sync(scenario)() == (0, 0, 0)


def test_bad_key_is_401_json_before_streaming(db):
    async def scenario():
        app = URLRouter(http_stream_routes)
        comm = ApplicationCommunicator(app, {**scope("/api/v1/subscribe/agents/x"), "headers": []})
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await comm.receive_output(5)
        body = await comm.receive_output(5)
        return start["status"], json.loads(body["body"])

    assert async_to_sync(scenario)() == (401, {"detail": "Invalid or missing API key"})
