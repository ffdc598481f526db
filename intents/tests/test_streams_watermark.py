"""The hub's commit watermark (multi-intent streams): an id that is allocated but not yet
visible holds the floor back until it commits, or until the gap timeout; one that appears
after that is delivered late, never lost."""

import uuid

from django.test import override_settings

from intents.streams import hub as hub_module
from intents.streams.hub import LogHub


class Session:
    def __init__(self):
        self.woken = []

    def wake(self, event_id, sequence=None, frame=None):
        self.woken.append(event_id)


def rows(*ids, intent=None):
    return [(i, intent, None, i) for i in ids]


@override_settings(STREAMS_GAP_TIMEOUT_SECONDS=3.0)
def test_gap_holds_the_floor_then_is_given_up_and_a_late_commit_is_still_announced(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: clock[0])
    intent = uuid.uuid4()
    hub = LogHub()
    session = Session()
    hub.watch(session, intents=[intent], agent=None)
    hub.floor = 10

    hub._absorb(rows(11, 12, 14, 15, intent=intent), [])
    assert hub.floor == 12  # 13 is in flight (or rolled back)
    assert session.woken == [11, 12, 14, 15]

    clock[0] += 1
    hub._absorb(rows(14, 15, 16, intent=intent), [])
    assert hub.floor == 12 and session.woken[-1] == 16

    clock[0] += 2.5  # past the gap timeout: 13 is given up, the floor moves on
    hub._absorb(rows(14, 15, 16), [])
    assert hub.floor == 16 and hub.is_late(13)

    hub._absorb([], rows(13, intent=intent))  # 13 commits after all
    assert session.woken[-1] == 13 and 13 in hub.late


def test_a_gap_that_commits_in_time_releases_the_floor(monkeypatch):
    hub = LogHub()
    hub.floor = 0
    hub._absorb(rows(1, 3), [])
    assert hub.floor == 1
    hub._absorb(rows(2, 3), [])
    assert hub.floor == 3 and not hub.gaps and not hub.given_up
