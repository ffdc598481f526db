"""Production mode (PostgreSQL + Redis, two web processes, a Celery worker): frames reach
streams held by any process, whoever wrote them, and multi-intent streams stay gap-free
under concurrent commits (ids commit out of order on PostgreSQL)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from openintent_project.testing import LiveServer, PostgresDatabase, production_services_available, redis_test_url

from .sse_helpers import Frames, assign, create_intent, post_event

pytestmark = [pytest.mark.production, pytest.mark.live]


@pytest.fixture(scope="module")
def server():
    if not production_services_available()[0]:
        pytest.skip("PostgreSQL/Redis not available")
    database = PostgresDatabase()
    live = LiveServer(
        web_processes=2,
        worker=True,
        database_url=database.url,
        redis_url=redis_test_url(),
        # No polling tick within the test's time: only Redis wake-ups can deliver.
        env={"STREAMS_POLL_SECONDS": "3600", "STREAMS_KEEPALIVE_SECONDS": "3600", "STREAMS_EXPOSE_PROCESS": "1"},
    )
    try:
        live.start(timeout=120)
        yield live
    finally:
        live.stop()
        database.drop()


def streams_on_both_processes(url: str) -> list[Frames]:
    """Open streams until two are held by different web processes."""
    opened: list[Frames] = []
    for _ in range(40):
        frames = Frames(url)
        opened.append(frames)
        if len({f.headers.get("x-stream-process") for f in opened}) == 2:
            return opened
    for frames in opened:
        frames.close()
    pytest.fail("every stream landed on one web process")


def test_a_write_through_one_process_reaches_streams_on_the_other(server):
    intent = create_intent(server.url)
    opened = streams_on_both_processes(f"{server.url}/api/v1/subscribe/intents/{intent['id']}")
    try:
        for i in range(5):
            post_event(server.url, intent["id"], i)  # each on a new connection, either process
        for frames in opened:
            assert [f[2]["payload"]["i"] for f in frames.take(5)] == [0, 1, 2, 3, 4]
    finally:
        for frames in opened:
            frames.close()


def test_a_write_from_a_celery_task_reaches_the_stream(server):
    from celery import Celery

    intent = create_intent(server.url)
    opened = streams_on_both_processes(f"{server.url}/api/v1/intents/{intent['id']}/subscribe")
    try:
        app = Celery(broker=server.env["REDIS_URL"])
        app.send_task("intents.tasks.event_append_task", args=[intent["id"], "comment", "celery", {"from": "worker"}])
        for frames in opened:
            (frame_id, name, data), = frames.take(1, timeout=20)
            assert (frame_id, name, data["actor"], data["payload"]) == ("2", "comment", "celery", {"from": "worker"})
    finally:
        for frames in opened:
            frames.close()


def test_agent_stream_resume_is_gap_free_under_concurrent_commits(server):
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    intents = [create_intent(server.url, f"pg {n}")["id"] for n in range(6)]
    for intent_id in intents:
        assign(server.url, intent_id, agent_id)
    url = f"{server.url}/api/v1/subscribe/agents/{agent_id}"

    def write(rounds):
        def one(intent_id):
            with requests.Session() as session:
                for i in rounds:
                    post_event(server.url, intent_id, i, session)

        with ThreadPoolExecutor(len(intents)) as pool:
            list(pool.map(one, intents))

    first = Frames(url)
    write(range(0, 20))
    got = first.take(120, timeout=30)
    assert len(got) == 120
    first.close()
    resume_at = 57
    write(range(20, 30))
    second = Frames(url, last_event_id=got[resume_at][0])
    try:
        write(range(30, 40))
        rest = second.take(120 - resume_at - 1 + 120, timeout=40)
        assert second.quiet(1.0) == []
        seen = [f[0] for f in got[: resume_at + 1]] + [f[0] for f in rest]
        assert len(seen) == len(set(seen)) == 240
        per_intent: dict = {}
        for frame_id in seen:
            intent_id, _, sequence = frame_id.rpartition(":")
            per_intent.setdefault(intent_id, []).append(int(sequence))
        assert all(sequences == list(range(3, 43)) for sequences in per_intent.values())
    finally:
        second.close()
