"""Typed results: tolerant of missing/extra keys, server aliases, timestamp parsing."""

from __future__ import annotations

from datetime import datetime, timedelta

from openintent_sdk import CostRecord, Decision, Intent, Lease, Membership, RetryPolicy, Task, Trigger
from openintent_sdk.models import parse_timestamp


def test_extra_and_missing_keys_are_tolerated():
    intent = Intent.from_dict({"id": "i", "title": "t", "brand_new_field": 1, "parent_intent_id": "p",
                               "created_at": "2026-02-01T12:00:00.123456"})
    assert intent.extra == {"brand_new_field": 1} and intent["brand_new_field"] == 1
    assert intent.parent_id == "p" and intent.version == 1 and intent.state == {}
    assert intent.created_at == datetime(2026, 2, 1, 12, 0, 0, 123456)
    assert intent.to_dict()["title"] == "t"


def test_aliases_prefer_non_null_values():
    assert Intent.from_dict({"parent_id": None, "parent_intent_id": "p"}).parent_id == "p"
    assert CostRecord.from_dict({"cost_metadata": {"a": 1}, "metadata": {"a": 1}}).metadata == {"a": 1}
    assert Task.from_dict({"task_metadata": {"k": 1}}).metadata == {"k": 1}
    d = Decision.from_dict({"decision_id": "d1", "decision_maker_id": "m", "reasoning": "r"})
    assert (d.id, d.decided_by, d.rationale) == ("d1", "m", "r")
    assert Membership.from_dict({"membership_id": "m1"}).id == "m1"
    assert Trigger.from_dict({"trigger_id": "t1"}).id == "t1"


def test_timestamps():
    assert parse_timestamp("2026-02-01T12:00:00Z") == datetime(2026, 2, 1, 12)
    assert parse_timestamp("2026-02-01T14:00:00+02:00") == datetime(2026, 2, 1, 12)
    assert parse_timestamp("not a time") == "not a time"
    assert parse_timestamp(None) is None


def test_lease_activity():
    now = datetime.utcnow()
    assert Lease.from_dict({"status": "active"}).is_active
    assert not Lease.from_dict({"status": "expired"}).is_active
    assert Lease.from_dict({"expires_at": (now + timedelta(minutes=1)).isoformat()}).is_active
    assert not Lease.from_dict({"expires_at": (now - timedelta(minutes=1)).isoformat()}).is_active
    assert not Lease.from_dict({"expires_at": (now + timedelta(minutes=1)).isoformat(),
                                "released_at": now.isoformat()}).is_active


def test_retry_policy_delays():
    base = {"base_delay_ms": 100, "max_delay_ms": 1000}
    assert [RetryPolicy.from_dict({**base, "strategy": "exponential"}).delay_ms(n) for n in (1, 2, 3, 5)] == [100, 200, 400, 1000]
    assert RetryPolicy.from_dict({**base, "strategy": "linear"}).delay_ms(3) == 300
    assert RetryPolicy.from_dict({**base, "strategy": "fixed"}).delay_ms(9) == 100
    assert RetryPolicy.from_dict({**base, "strategy": "none"}).delay_ms(1) == 0
