"""Wake-up notes carry the frame (``intents.streams.wakeups``): the bytes equal a log read's,
an intent stream sends a note's frame only right after its cursor, and reads the log on a
gap, so a lost note never loses a frame."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.db import transaction

from intents import events
from intents.services import core
from intents.streams import reads, wakeups
from intents.streams.session import INTENT, StreamSession


def test_a_note_carries_the_bytes_a_log_read_gives(db, owner):
    intent = core.intent_create(principal=owner, title="Notes")
    with transaction.atomic():
        locked = core.intent_lock(intent.pk)
        recorded = [
            events.record(locked, "comment", "a", {"text": "é", "n": 1.5, "nested": {"z": 1, "a": [1, 2]}}),
            events.record(locked, "governance.violation", "a", {}),  # not on the intent stream
        ]
    notes = [wakeups.note_for(event) for event in recorded]
    _, frames, _ = reads.intent_frames_after(intent.pk, 1)
    assert [(n.sequence, n.name, n.encoded) for n in notes if n.name] == frames
    assert notes[1].name == "" and notes[1].frame == ("", notes[1].encoded)


def test_a_note_survives_the_datagram_format():
    note = wakeups.Note(7, str(uuid.uuid4()), 3, "agent\nx", "comment", '{"a": "b\\nc"}')
    assert wakeups.Note.from_bytes(note.to_bytes()) == note
    bare = wakeups.Note(8, str(uuid.uuid4()), 4)  # no frame: the stream reads the log
    assert wakeups.Note.from_bytes(bare.to_bytes()) == bare and bare.frame is None


def test_a_large_frame_travels_without_its_data(db, owner):
    intent = core.intent_create(principal=owner, title="Big")
    with transaction.atomic():
        locked = core.intent_lock(intent.pk)
        event = events.record(locked, "comment", "a", {"blob": "x" * wakeups.MAX_FRAME_CHARS})
    note = wakeups.note_for(event)
    assert note.frame is None and note.sequence == event.sequence


class FakeHub:
    """Stands in for the hub: counts log reads, serves frames 1..head."""

    def __init__(self, head: int):
        self.head = head
        self.reads = 0

    async def intent_frames_after(self, intent_id, after, *, fresh):
        self.reads += 1
        frames = [(s, "comment", f'{{"s": {s}}}') for s in range(after + 1, self.head + 1)]
        return max(after, self.head), frames, False


def session_with(fake: FakeHub, cursor: int) -> tuple[StreamSession, list]:
    sent: list = []

    async def emit(frames):
        sent.append([frame_id for _, _, frame_id in frames])

    async def keepalive():
        pass

    # Only the fields the intent drain uses: no hub registration, no channel-layer groups.
    session = StreamSession.__new__(StreamSession)
    session.kind, session.target, session.intent_uuid = INTENT, "x", uuid.uuid4()
    session.emit, session.keepalive, session.hub = emit, keepalive, fake
    session.cursor, session.pending, session.wanted_sequence = cursor, 0, 0
    session.inbox, session._fresh, session._wakeup = [], False, asyncio.Event()
    return session, sent


def note_frame(s: int) -> tuple[str, str]:
    return "comment", f'{{"s": {s}}}'


def test_contiguous_notes_go_out_in_one_write_without_a_read():
    async def scenario():
        fake = FakeHub(head=7)
        session, sent = session_with(fake, cursor=4)
        for s in (6, 5, 7, 5):  # out of order, and a duplicate
            session.wake(100 + s, s, frame=note_frame(s))
        await session._drain_intent()
        return fake.reads, sent, session.cursor

    assert asyncio.run(scenario()) == (0, [["5", "6", "7"]], 7)


def test_a_gap_reads_the_log_and_a_late_duplicate_is_skipped():
    async def scenario():
        fake = FakeHub(head=7)
        session, sent = session_with(fake, cursor=4)
        session.wake(107, 7, frame=note_frame(7))  # notes for 5 and 6 were lost
        await session._drain_intent()
        session.wake(106, 6, frame=note_frame(6))  # arrives late: already sent
        await session._drain_intent()
        return fake.reads, sent, session.cursor

    assert asyncio.run(scenario()) == (1, [["5", "6", "7"]], 7)


def test_a_wake_without_a_frame_reads_the_log():
    async def scenario():
        fake = FakeHub(head=5)
        session, sent = session_with(fake, cursor=4)
        session.wake(105, 5)  # the hub's tick, or a note too large to carry its frame
        await session._drain_intent()
        return fake.reads, sent

    assert asyncio.run(scenario()) == (1, [["5"]])


@pytest.mark.parametrize("name", ["", "comment"])
def test_unstreamed_events_move_the_cursor(name):
    async def scenario():
        fake = FakeHub(head=0)
        session, sent = session_with(fake, cursor=1)
        session.wake(102, 2, frame=(name, "{}"))
        session.wake(103, 3, frame=note_frame(3))
        await session._drain_intent()
        return fake.reads, sent, session.cursor

    reads_, sent, cursor = asyncio.run(scenario())
    assert reads_ == 0 and cursor == 3
    assert sent == ([["2", "3"]] if name else [["3"]])


# --- who is told after commit (publish.on_event_committed, embedded mode) -------------------

@pytest.fixture
def streams_dir(settings):
    """A short data directory (socket paths are limited to about 100 bytes) whose streams/
    directory is where web processes holding streams bind their sockets."""
    import shutil
    import tempfile
    from pathlib import Path

    data_dir = Path(tempfile.mkdtemp(prefix="oi-", dir="/tmp"))
    settings.DATA_DIR = data_dir
    (data_dir / "streams").mkdir(mode=0o700)
    yield data_dir / "streams"
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def loop_calls(monkeypatch):
    from intents.streams import publish

    calls = []
    monkeypatch.setattr(publish, "call_on_serving_loop", lambda callback, *args: calls.append((callback, args)) or True)
    return calls


def _append_comment(owner, django_capture_on_commit_callbacks):
    intent = core.intent_create(principal=owner, title="Told")
    with django_capture_on_commit_callbacks(execute=True):
        return core.event_append(principal=owner, intent_id=str(intent.pk), event_type="comment", actor="a",
                                 payload={"text": "hi"})


def test_with_no_stream_open_anywhere_no_note_is_built_or_sent(db, owner, streams_dir, loop_calls, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    built = []
    real_note_for = wakeups.note_for
    monkeypatch.setattr(wakeups, "note_for", lambda event: built.append(event) or real_note_for(event))
    _append_comment(owner, django_capture_on_commit_callbacks)
    assert built == [] and loop_calls == []


def test_a_stream_in_this_process_gets_the_note_on_the_loop(db, owner, streams_dir, loop_calls, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    import types

    from intents.streams import hub

    monkeypatch.setitem(hub._hubs, -1, types.SimpleNamespace(sessions={object()}))
    event = _append_comment(owner, django_capture_on_commit_callbacks)
    [(callback, (note,))] = loop_calls
    assert callback is wakeups.deliver_here
    _, frames, _ = reads.intent_frames_after(event.intent_id, event.sequence - 1)
    assert frames == [(note.sequence, note.name, note.encoded)]


def test_a_stream_in_another_process_gets_the_note_by_datagram(db, owner, streams_dir, loop_calls,
                                                               django_capture_on_commit_callbacks):
    import socket

    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(streams_dir / "999999"))  # another process's pid
    receiver.settimeout(5)
    try:
        event = _append_comment(owner, django_capture_on_commit_callbacks)
        note = wakeups.Note.from_bytes(receiver.recv(65536))
    finally:
        receiver.close()
    assert loop_calls == []  # no stream open in this process
    _, frames, _ = reads.intent_frames_after(event.intent_id, event.sequence - 1)
    assert (note.event_id, note.sequence) == (event.id, event.sequence)
    assert frames == [(note.sequence, note.name, note.encoded)]
