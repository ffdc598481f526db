"""The runtime's dispatch rules, fed with frames directly (no server needed): which handler
fires for which frame, changed-key filtering, de-duplication across streams, draining."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from openintent_sdk import Worker, agent, on_assignment, on_complete, on_event, on_state_change
from openintent_sdk.models import StreamEvent


@pytest.fixture
def worker():
    w = Worker("w", base_url="http://127.0.0.1:9", register=False, follow_intents=False,
               record_failures=False, handle_signals=False)
    w.calls = []
    w.on_assignment(lambda ctx: w.calls.append(("assigned", ctx.intent_id)))
    w.on_state_change(["draft"])(lambda ctx: w.calls.append(("draft", sorted(ctx.changed_keys))))
    w.on_state_change()(lambda ctx: w.calls.append(("any-state", sorted(ctx.changed_keys))))
    w.on_event("task.*")(lambda ctx: w.calls.append(("task", ctx.event.event)))
    w.on_complete(lambda ctx: w.calls.append(("complete", ctx.intent_id)))
    w._executor = ThreadPoolExecutor(max_workers=1)
    yield w
    w._executor.shutdown(wait=True)


def settle(w):
    w._executor.shutdown(wait=True)
    w._executor = ThreadPoolExecutor(max_workers=1)
    return w.calls


def test_assignment_for_this_agent_only(worker):
    worker._on_agent_frame(StreamEvent("AGENT_ASSIGNED", {"agent_id": "w", "intent_id": "i1"}, "i1:3"))
    worker._on_agent_frame(StreamEvent("agent_assigned", {"agent_id": "someone", "intent_id": "i2"}, "i2:1"))
    assert settle(worker) == [("assigned", "i1")]
    assert worker.assigned == {"i1"}
    worker._on_agent_frame(StreamEvent("agent_unassigned", {"agent_id": "w", "intent_id": "i1"}, "i1:4"))
    assert worker.assigned == set()


def test_state_change_filters_on_changed_keys(worker):
    worker._on_intent_frame("i1", StreamEvent("STATE_CHANGED", {"intent_id": "i1", "old_state": {"a": 1},
                                                                "new_state": {"a": 2}}, "5"))
    worker._on_intent_frame("i1", StreamEvent("STATE_CHANGED", {"intent_id": "i1", "old_state": {"a": 2},
                                                                "new_state": {"a": 2, "draft": "x"}}, "6"))
    assert settle(worker) == [("any-state", ["a"]), ("draft", ["draft"]), ("any-state", ["draft"])]


def test_state_change_without_old_state_uses_the_last_seen_state(worker):
    worker._on_intent_frame("i1", StreamEvent("state_patched", {"intent_id": "i1", "state": {"draft": 1}}, "1"))
    worker._on_intent_frame("i1", StreamEvent("state_patched", {"intent_id": "i1", "state": {"draft": 1, "b": 2}}, "2"))
    assert settle(worker) == [("draft", ["draft"]), ("any-state", ["draft"]), ("any-state", ["b"])]


def test_frames_seen_on_two_streams_are_handled_once(worker):
    frame = {"intent_id": "i1", "task_id": "t"}
    worker._on_intent_frame("i1", StreamEvent("task.completed", frame, "7"))
    worker._on_agent_frame(StreamEvent("task.completed", frame, "i1:7"))
    worker._on_intent_frame("i1", StreamEvent("task.started", frame, None))  # live-only: no id
    worker._on_intent_frame("i1", StreamEvent("comment", frame, "8"))
    assert settle(worker) == [("task", "task.completed"), ("task", "task.started")]


def test_completion_fires_on_complete_and_stops_following(worker):
    worker.assigned.add("i1")
    worker._on_intent_frame("i1", StreamEvent("STATUS_CHANGED", {"intent_id": "i1", "new_status": "active"}, "2"))
    worker._on_intent_frame("i1", StreamEvent("STATUS_CHANGED", {"intent_id": "i1", "new_status": "completed"}, "3"))
    assert settle(worker) == [("complete", "i1")]
    assert "i1" not in worker.assigned


def test_draining_worker_takes_no_new_work(worker):
    worker._draining.set()
    worker._on_agent_frame(StreamEvent("AGENT_ASSIGNED", {"agent_id": "w", "intent_id": "i1"}, "i1:1"))
    worker._on_intent_frame("i1", StreamEvent("STATE_CHANGED", {"intent_id": "i1", "new_state": {"draft": 1}}, "2"))
    assert settle(worker) == []


def test_handler_errors_are_collected_not_raised(worker):
    def boom(ctx):
        raise ValueError("bad")

    worker.handlers = [("assignment", None, boom)]
    worker._on_agent_frame(StreamEvent("AGENT_ASSIGNED", {"agent_id": "w", "intent_id": "i9"}, "i9:1"))
    settle(worker)
    assert [type(e) for e in worker.errors] == [ValueError] and worker.processed == 1


def test_decorator_agent_binds_marked_methods():
    @agent("deco", base_url="http://127.0.0.1:9", register=False, handle_signals=False)
    class Deco:
        @on_assignment
        def a(self, ctx): ...

        @on_state_change("draft")
        def b(self, ctx): ...

        @on_event("comment")
        def c(self, ctx): ...

        @on_complete
        def d(self, ctx): ...

        @on_state_change
        def e(self, ctx): ...

        def not_a_handler(self, ctx): ...

    bot = Deco()
    worker = bot.worker()
    kinds = sorted(repr((kind, sorted(arg) if isinstance(arg, set) else arg)) for kind, arg, _ in worker.handlers)
    assert kinds == sorted(repr(k) for k in [("assignment", None), ("complete", None), ("event", "comment"),
                                             ("state_change", None), ("state_change", ["draft"])])
    assert worker.agent_id == "deco" and bot.client.agent_id == "deco"
    assert all(getattr(fn, "__self__", None) is bot for _, _, fn in worker.handlers)


def test_agent_decorator_refuses_a_handler_named_like_its_own_methods():
    from openintent_sdk.runtime import agent, on_assignment

    with pytest.raises(TypeError, match="start"):
        @agent("clash", base_url="http://127.0.0.1:1", api_key="k")
        class Clash:
            @on_assignment
            def start(self, ctx):
                return None
