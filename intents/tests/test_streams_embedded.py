"""Embedded mode (SQLite, in-memory channel layer, two web processes): a write's note, frame
included, reaches the streams held by the other web process as a datagram. The log tail is
turned off here, so only notes can deliver."""

from __future__ import annotations

import pytest

from openintent_project.testing import LiveServer

from .sse_helpers import create_intent, post_event
from .test_streams_production import streams_on_both_processes

pytestmark = [pytest.mark.live]


@pytest.fixture(scope="module")
def server():
    live = LiveServer(
        web_processes=2,
        env={
            "STREAMS_POLL_SECONDS": "3600", "STREAMS_WAL_CHECK_SECONDS": "3600",
            "STREAMS_NOTED_WAL_CHECK_SECONDS": "3600", "STREAMS_KEEPALIVE_SECONDS": "3600",
            "STREAMS_EXPOSE_PROCESS": "1",
        },
    )
    try:
        live.start(timeout=120)
        yield live
    finally:
        live.stop()


def test_notes_reach_streams_on_both_processes_in_order(server):
    intent = create_intent(server.url)
    opened = streams_on_both_processes(f"{server.url}/api/v1/subscribe/intents/{intent['id']}")
    try:
        for i in range(20):
            post_event(server.url, intent["id"], i)  # each on a new connection, either process
        for frames in opened:
            taken = frames.take(20)
            assert [f[2]["payload"]["i"] for f in taken] == list(range(20))
            assert [f[0] for f in taken] == [str(s) for s in range(2, 22)]
    finally:
        for frames in opened:
            frames.close()
