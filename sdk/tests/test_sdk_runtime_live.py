"""SSE streams, the Worker and decorator agents against the live server."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from openintent_sdk import Client, Worker, agent, on_assignment, on_complete, on_event, on_state_change

from .sdk_testlib import DEV_KEY, EXAMPLES, load_example, unique

pytestmark = pytest.mark.live

INTENT_STREAM = "GET /api/v1/intents/{id}/subscribe"
AGENT_STREAM = "GET /api/v1/agents/{id}/subscribe"
PORTFOLIO_STREAM = "GET /api/v1/portfolios/{id}/subscribe"


def consume(stream, sink: queue.Queue) -> threading.Thread:
    def run():
        try:
            for frame in stream:
                sink.put(frame)
        except Exception as exc:  # noqa: BLE001 - surfaced through the queue
            sink.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def next_frame(sink: queue.Queue, kinds: set[str], timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        item = sink.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(item, Exception):
            raise item
        if item.type in kinds:
            return item


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


@pytest.mark.requires_route(INTENT_STREAM)
def test_intent_stream_live_and_resume(client, intent):
    sink: queue.Queue = queue.Queue()
    stream = client.stream(intent_id=intent.id)
    consume(stream, sink)
    time.sleep(1.0)
    client.intents.update_state(intent.id, {"step": 1})
    frame = next_frame(sink, {"state_patched"})
    assert frame.id and frame.data["intent_id"] == intent.id and frame.data["new_state"]["step"] == 1
    stream.close()

    client.intents.update_state(intent.id, {"step": 2})
    client.events.log(intent.id, "comment", {"text": "missed"})
    sink2: queue.Queue = queue.Queue()
    resumed = client.stream(intent_id=intent.id, last_event_id=frame.id)
    consume(resumed, sink2)
    replayed = next_frame(sink2, {"state_patched"})
    assert replayed.data["new_state"]["step"] == 2
    comment = next_frame(sink2, {"comment"})
    assert comment.data["payload"] == {"text": "missed"}
    assert int(comment.id) > int(replayed.id) > int(frame.id)
    resumed.close()


@pytest.mark.requires_route(AGENT_STREAM)
def test_agent_stream_gets_assignments(client, intent):
    target = unique("assignee")
    sink: queue.Queue = queue.Queue()
    with client.stream(agent_id=target) as stream:
        consume(stream, sink)
        time.sleep(1.0)
        client.intents.assign_agent(intent.id, target)
        frame = next_frame(sink, {"agent_assigned"})
    assert frame.event == "AGENT_ASSIGNED" and frame.data["agent_id"] == target
    assert frame.intent_id == intent.id


@pytest.fixture(scope="module")
def single_process_url():
    """Portfolio membership frames (intent_added, …) are live only, never stored (06): they
    cross web processes through Redis, and in the embedded default — one web process — stay
    in it. So this test runs against a one-process embedded server."""
    if os.environ.get("OPENINTENT_SDK_TEST_URL"):
        yield os.environ["OPENINTENT_SDK_TEST_URL"]
        return
    from openintent_project.testing import LiveServer

    with LiveServer(web_processes=1) as server:
        yield server.url


@pytest.mark.requires_route(PORTFOLIO_STREAM, "POST /api/v1/portfolios", "POST /api/v1/portfolios/{id}/intents")
def test_portfolio_stream(single_process_url, agent_id):
    client = Client(single_process_url, DEV_KEY, agent_id, timeout=20, retries=2)
    intent = client.intents.create(unique("member"))
    folio = client.portfolios.create(unique("streamed"))
    sink: queue.Queue = queue.Queue()
    with client.stream(portfolio_id=folio.id) as stream:
        consume(stream, sink)
        time.sleep(1.0)
        client.portfolios.add_intent(folio.id, intent.id)
        frame = next_frame(sink, {"intent_added"})
        assert frame.data["intent_id"] == intent.id
        # Then the new member's stored events arrive on the portfolio stream too.
        client.events.log(intent.id, "comment", {"text": "hello"})
        comment = next_frame(sink, {"comment"})
    assert comment.intent_id == intent.id


@pytest.mark.requires_route(AGENT_STREAM, "POST /api/v1/intents/{id}/leases",
                            "DELETE /api/v1/intents/{id}/leases/{lease_id}")
def test_example_worker_handles_an_assignment_from_the_stream(server_url):
    worker_id = unique("worker")
    worker = load_example("worker").build(server_url, DEV_KEY, agent_id=worker_id, handle_signals=False)
    worker.start()
    try:
        assert worker.wait_connected(15)
        time.sleep(1.0)
        dispatcher = Client(server_url, DEV_KEY, "dispatcher")
        intent = dispatcher.intents.create("make me loud")
        dispatcher.intents.assign_agent(intent.id, worker_id)
        done = wait_for(lambda: (i := dispatcher.intents.get(intent.id)).status == "completed" and i)
        assert done.state == {"result": "MAKE ME LOUD", "handled_by": worker_id}
        assert worker.errors == []
    finally:
        worker.stop()
    assert worker.draining


@pytest.mark.requires_route(AGENT_STREAM, INTENT_STREAM)
def test_decorator_agent_dispatches_every_handler_kind(server_url):
    agent_id = unique("reviewer")

    @agent(agent_id, base_url=server_url, api_key=DEV_KEY, handle_signals=False)
    class Reviewer:
        def __init__(self):
            self.seen = []

        @on_assignment
        def begin(self, ctx):
            self.seen.append("assigned")
            return {"review": "pending"}

        @on_state_change(["draft"])
        def review(self, ctx):
            self.seen.append("draft")
            return {"review": f"ok: {ctx.intent.state['draft']}"}

        @on_event("comment")
        def comment(self, ctx):
            self.seen.append("comment")

        @on_complete
        def done(self, ctx):
            self.seen.append("completed")

    bot = Reviewer()
    worker = bot.start()
    try:
        assert worker.wait_connected(15)
        time.sleep(1.0)
        boss = Client(server_url, DEV_KEY, "boss")
        intent = boss.intents.create("review me")
        boss.intents.assign_agent(intent.id, agent_id)
        wait_for(lambda: boss.intents.get(intent.id).state.get("review") == "pending")
        time.sleep(1.0)  # the intent stream opens after the assignment
        boss.intents.update_state(intent.id, {"draft": "v1"}, retry_on_conflict=True)
        wait_for(lambda: boss.intents.get(intent.id).state.get("review") == "ok: v1")
        boss.events.log(intent.id, "comment", {"text": "nice"})
        boss.intents.complete(intent.id)
        wait_for(lambda: "completed" in bot.seen and "comment" in bot.seen)
        assert bot.seen.count("assigned") == 1 and bot.seen.count("draft") == 1
    finally:
        bot.stop()


def test_worker_drains_on_sigterm(server_url):
    env = {**os.environ, "OPENINTENT_URL": server_url, "OPENINTENT_API_KEY": DEV_KEY,
           "OPENINTENT_AGENT_ID": unique("sigterm-worker"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "worker.py")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert "running against" in first, first
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "drained after" in out


def test_worker_registration_options(server_url):
    worker = Worker(unique("w"), lambda ctx: None, base_url=server_url, api_key=DEV_KEY, register=False,
                    handle_signals=False)
    assert worker.client.agent_id == worker.agent_id and worker.handlers[0][0] == "assignment"

    @worker.on_state_change(["a"])
    def changed(ctx):
        return None

    @worker.on_event("x.*")
    def event(ctx):
        return None

    worker.on_complete(lambda ctx: None)
    assert [h[0] for h in worker.handlers] == ["assignment", "state_change", "event", "complete"]
    worker.start()
    worker.stop(timeout=10)
    assert worker.draining and not worker.registered


@pytest.mark.requires_route("POST /api/v1/agents/register", "GET /api/v1/agents/{id}/record",
                            "POST /api/v1/agents/{id}/heartbeat", "PATCH /api/v1/agents/{id}/status")
def test_worker_registers_heartbeats_and_deregisters_on_drain(server_url):
    agent_id = unique("beating")
    worker = Worker(agent_id, lambda ctx: None, base_url=server_url, api_key=DEV_KEY, capabilities=["x"],
                    heartbeat_interval=0.5, handle_signals=False).start()
    try:
        assert worker.registered and worker.record.status == "active"
        first = worker.client.agents.get().last_heartbeat_at
        later = wait_for(lambda: (t := worker.client.agents.get().last_heartbeat_at) and t > first and t)
        assert later > first
    finally:
        worker.stop()
    assert worker.client.agents.get().status == "deregistered"


@pytest.mark.requires_route(AGENT_STREAM, "POST /api/v1/intents/{id}/failures", "GET /api/v1/intents/{id}/failures")
def test_worker_records_a_failure_when_a_handler_raises(server_url):
    agent_id = unique("clumsy")

    def handler(ctx):
        raise RuntimeError("cannot do it")

    worker = Worker(agent_id, handler, base_url=server_url, api_key=DEV_KEY, register=False,
                    handle_signals=False).start()
    try:
        assert worker.wait_connected(15)
        time.sleep(1.0)
        boss = Client(server_url, DEV_KEY, "boss")
        intent = boss.intents.create("doomed")
        boss.intents.assign_agent(intent.id, agent_id)
        (failure,) = wait_for(lambda: boss.retries.failures(intent.id))
        assert failure.agent_id == agent_id and failure.error_code == "RuntimeError"
        assert failure.error_message == "cannot do it"
        assert isinstance(worker.errors[0], RuntimeError)
    finally:
        worker.stop()
