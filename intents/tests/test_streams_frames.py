"""Frames are stored with their events, in the same transaction, with the data the SDK
runtime reads (06 FIX 1, 2, 4; README §0.2); a plain event's frame is its own row."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from intents import events
from intents.models import StreamFrame
from intents.services import core
from intents.streams import reads, wakeups
from intents.streams.frames import SDK_NAMES, render_sse


@pytest.fixture
def intent(db, owner):
    return core.intent_create(principal=owner, title="Frames")


def frame(intent, event_type):
    return StreamFrame.objects.select_related("event").filter(event__intent=intent, event__event_type=event_type).latest("event__sequence")


def test_intent_created_frame_carries_the_intent_and_intent_id(intent):
    created = frame(intent, "intent_created")
    assert created.name == "intent_created"
    assert created.data["id"] == created.data["intent_id"] == str(intent.pk)
    assert created.data["parent_id"] is None and created.data["parent_intent_id"] is None


def test_state_and_status_frames_carry_old_and_new_values(intent, owner):
    core.intent_patch_state(principal=owner, intent_id=intent.pk, expected_version=1, patches=[{"op": "set", "path": "/a", "value": 1}])
    core.intent_patch_state(principal=owner, intent_id=intent.pk, expected_version=2, patches=[{"op": "set", "path": "/b", "value": 2}])
    core.intent_set_status(principal=owner, intent_id=intent.pk, expected_version=3, status="completed")
    state = frame(intent, "state_patched").data
    assert state["old_state"] == {"a": 1} and state["new_state"] == {"a": 1, "b": 2}
    assert state["intent_id"] == str(intent.pk) and state["version"] == 3
    status = frame(intent, "status_changed").data
    assert status["new_status"] == "completed" and status["old_status"] == "draft"


def test_assignment_frames_go_to_the_agent_stream_only(intent, owner):
    core.agent_assign(principal=owner, intent_id=intent.pk, agent_id="worker-1")
    assigned = frame(intent, "agent_assigned")
    assert assigned.name == "" and assigned.agent_id == "worker-1"
    assert set(assigned.data) == {"id", "intent_id", "agent_id", "role", "assigned_at"}
    core.agent_unassign(principal=owner, intent_id=intent.pk, agent_id="worker-1")
    unassigned = frame(intent, "agent_unassigned")
    assert unassigned.agent_id == "worker-1" and unassigned.data["intent_id"] == str(intent.pk)


def test_violations_are_stored_but_not_streamed(intent):
    core.governance_violation_record(intent_id=intent.pk, actor="x", payload={"rule": "write_scope", "detail": "no"})
    assert frame(intent, "governance.violation").name == ""


def test_lease_frames_carry_scope(intent):
    with transaction.atomic():
        locked = core.intent_lock(intent.pk)
        events.record(locked, "lease_acquired", "a", {"scope": "research", "lease_id": "l1"})
    data = frame(intent, "lease_acquired").data
    assert data["scope"] == "research" and data["intent_id"] == str(intent.pk)


def test_a_rolled_back_event_leaves_no_frame(intent):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            locked = core.intent_lock(intent.pk)
            events.record(locked, "lease_acquired", "a", {"scope": "s", "lease_id": "l1"})
            assert StreamFrame.objects.filter(event__intent=intent, event__event_type="lease_acquired").exists()
            raise RuntimeError
    assert not StreamFrame.objects.filter(event__intent=intent, event__event_type="lease_acquired").exists()


@pytest.mark.parametrize("event_type", ["comment", "escalation_initiated"])
def test_a_plain_event_stores_no_frame_and_replays_the_live_bytes(intent, event_type):
    """A frame that is the event itself is rendered from the event row: the bytes a replay
    sends are those the live wake-up carried."""
    payload = {"text": "héllo", "n": 1.5, "nested": {"b": [1, None, True], "a": "x"}, "7": 7}
    with transaction.atomic():
        locked = core.intent_lock(intent.pk)
        event = events.record(locked, event_type, "a", payload, trace_id="t-1")
    assert not hasattr(event, "_stream_note")  # nothing encoded inside the transaction
    note = wakeups.note_for(event)  # after commit, when a stream may want it
    agent_id, name, encoded = note.agent_id, note.name, note.encoded
    assert agent_id is None and name == ("" if event_type == "escalation_initiated" else event_type)
    assert not StreamFrame.objects.filter(event=event).exists()
    assert json.loads(encoded)["payload"] == payload and json.loads(encoded)["trace_id"] == "t-1"
    _, frames, _ = reads.intent_frames_after(intent.pk, event.sequence - 1)
    if name:
        assert frames == [(event.sequence, name, encoded)]
    else:
        assert frames == []  # stored, never pushed on the intent stream


def test_reads_replay_by_sequence_and_skip_unstreamed_frames(intent):
    with transaction.atomic():
        locked = core.intent_lock(intent.pk)
        for i in range(3):
            events.record(locked, "comment", "a", {"i": i})
        events.record(locked, "governance.violation", "a", {})
    last, frames, full = reads.intent_frames_after(intent.pk, 2)
    assert last == 5
    assert [(seq, name, json.loads(data)["payload"]) for seq, name, data in frames] == [(3, "comment", {"i": 1}), (4, "comment", {"i": 2})]


def test_multi_intent_reads_resolve_ids_of_this_stream_only(intent, owner):
    other = core.intent_create(principal=owner, title="Other")
    core.agent_assign(principal=owner, intent_id=intent.pk, agent_id="w")
    assert reads.resolve_multi_id(f"{intent.pk}:1", [intent.pk], "w") is not None
    assert reads.resolve_multi_id(f"{other.pk}:1", [intent.pk], "w") is None
    assert reads.resolve_multi_id("garbage", [intent.pk], "w") is None
    head = reads.log_head()
    last, frames = reads.multi_frames([intent.pk], "w", after_id=0, upto_id=head)
    assert last == head
    names = [name for _, _, name, _ in frames]
    assert names == ["intent_created", "agent_assigned"]
    assert frames[0][1] == f"{intent.pk}:1"


def test_sse_rendering_is_ref_json_on_one_line():
    assert render_sse("comment", {"a": "x\ny"}, "7") == b'id: 7\nevent: comment\ndata: {"a": "x\\ny"}\n\n'
    assert render_sse("portfolio_created", {}, None) == b"event: portfolio_created\ndata: {}\n\n"
    assert SDK_NAMES["state_patched"] == "STATE_CHANGED"


def test_appending_a_comment_reads_only_the_intent_s_owner_and_counter_and_stores_no_frame(intent, owner):
    with CaptureQueriesContext(connection) as queries:
        core.event_append(principal=owner, intent_id=intent.pk, event_type="comment", actor="a", payload={"t": 1})
    statements = [q["sql"] for q in queries]
    intent_reads = [sql for sql in statements if sql.startswith("SELECT") and '"intents_intent"' in sql.split(" WHERE ")[0]]
    assert len(intent_reads) == 1 and '"state"' not in intent_reads[0]
    assert not any("intents_streamframe" in sql for sql in statements)
    # the lock, the counter, the event, the webhook and trigger checks in one statement (and
    # BEGIN/COMMIT where logged)
    assert len([sql for sql in statements if not sql.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]) == 4


def test_an_appended_event_whose_frame_snapshots_the_intent_gets_the_whole_intent(intent, owner):
    """A client may append any event type; one whose frame is an intent snapshot reads the
    fields the narrow lock left out."""
    core.intent_patch_state(principal=owner, intent_id=intent.pk, expected_version=1, patches=[{"op": "set", "path": "/a", "value": 1}])
    core.event_append(principal=owner, intent_id=intent.pk, event_type="intent_created", actor="a", payload={})
    data = frame(intent, "intent_created").data
    assert data["state"] == {"a": 1} and data["title"] == "Frames" and data["version"] == 2
    assert data["intent_id"] == str(intent.pk)


def test_recording_an_event_asks_every_app_s_interest_in_one_statement(intent):
    """Webhook subscriptions and event triggers (``register_interest``): one statement per
    event for both, not one each."""
    from intents.events import _interests

    assert {"intents.active_webhook_subscriptions", "triggers.enabled_event_triggers"} <= set(_interests)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.record(core.intent_lock(intent.pk), "comment", "a", {"text": "hi"})
    interest_checks = [q["sql"] for q in queries if "EXISTS" in q["sql"]]
    assert len(interest_checks) == 1 and interest_checks[0].count("EXISTS") == len(_interests)
