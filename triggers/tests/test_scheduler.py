"""The schedule tick (17 §6): due ticks fire once, missed ticks are caught up at most once."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from intents.models import Intent
from openintent_project.api.timestamps import format_timestamp
from triggers import services
from triggers.models import Trigger, TriggerFire

from .factories import make_trigger


def due(trigger, seconds_ago=5):
    when = timezone.now().replace(microsecond=0) - timedelta(seconds=seconds_ago)
    Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=when)
    return when


def test_a_due_tick_fires_once_and_moves_to_the_next_cron_time(db):
    trigger = make_trigger(condition={"cron": "* * * * *"})
    scheduled_for = due(trigger)
    assert services.schedule_tick() == 1
    assert services.schedule_tick() == 0
    intent = Intent.objects.get()
    assert intent.state["_trigger"]["source"] == "schedule" and intent.title == "Report for nightly"
    trigger.refresh_from_db()
    assert trigger.fire_count == 1 and trigger.next_fire_at > timezone.now()
    fire = TriggerFire.objects.get()
    assert fire.outcome == "fired" and fire.source == "schedule" and fire.dedup_key == f"tick:{format_timestamp(scheduled_for)}"


def test_a_duplicate_task_delivery_for_the_same_tick_creates_one_intent(db):
    trigger = make_trigger(condition={"cron": "* * * * *"})
    scheduled_for = due(trigger)
    first = services.schedule_fire_due(trigger_id=trigger.pk, scheduled_for=scheduled_for)
    second = services.schedule_fire_due(trigger_id=trigger.pk, scheduled_for=scheduled_for)
    assert first.outcome == "fired" and second is None
    assert Intent.objects.count() == 1


def test_two_concurrent_fire_attempts_for_the_same_tick_create_exactly_one_intent(db):
    """Worker A has read the trigger as due; before A claims, worker B runs the same tick to
    completion (the interleaving a missing lock or a stale read would allow). A's claim then
    collides with B's history row and A creates nothing."""
    trigger = make_trigger(condition={"cron": "* * * * *"})
    scheduled_for = due(trigger)
    real_claim = services._claim
    competing = []

    def claim_after_competitor(trigger_obj, **kwargs):
        if not competing:
            competing.append("running")
            competing[0] = services.schedule_fire_due(trigger_id=trigger.pk, scheduled_for=scheduled_for)
        return real_claim(trigger_obj, **kwargs)

    with mock.patch.object(services, "_claim", side_effect=claim_after_competitor):
        first = services.schedule_fire_due(trigger_id=trigger.pk, scheduled_for=scheduled_for)
    assert competing[0].claimed and competing[0].outcome == "fired"
    assert first is not None and first.claimed is False
    assert Intent.objects.count() == 1
    assert TriggerFire.objects.count() == 1
    assert Trigger.objects.get(pk=trigger.pk).fire_count == 1


def test_a_stale_tick_is_not_fired(db):
    trigger = make_trigger(condition={"cron": "* * * * *"})
    scheduled_for = due(trigger)
    assert services.schedule_fire_due(trigger_id=trigger.pk, scheduled_for=scheduled_for - timedelta(minutes=1)) is None
    assert not Intent.objects.exists()


def test_a_missed_tick_is_caught_up_once_not_backfilled(db):
    trigger = make_trigger(condition={"cron": "* * * * *"})
    due(trigger, seconds_ago=3600)  # beat was down for an hour: 60 runs missed
    assert services.schedule_tick() == 1
    assert services.schedule_tick() == 0
    assert Intent.objects.count() == 1
    assert "caught_up" in TriggerFire.objects.get().detail


def test_missed_ticks_can_be_skipped_by_setting(db, settings):
    settings.TRIGGERS_CATCH_UP_MISSED = False
    trigger = make_trigger(condition={"cron": "* * * * *"})
    due(trigger, seconds_ago=3600)
    assert services.schedule_tick() == 0
    assert not Intent.objects.exists()
    assert Trigger.objects.get(pk=trigger.pk).next_fire_at > timezone.now()


def test_a_one_shot_fires_once_then_is_disabled(db):
    at = timezone.now() + timedelta(seconds=30)
    trigger = make_trigger(condition={"at": format_timestamp(at)})
    assert trigger.next_fire_at == at
    assert services.schedule_tick(now=at + timedelta(seconds=1)) == 1
    trigger.refresh_from_db()
    assert trigger.enabled is False and trigger.next_fire_at is None
    assert services.schedule_tick(now=at + timedelta(seconds=20)) == 0
    assert Intent.objects.count() == 1


def test_the_window_bounds_the_schedule(db):
    starts = timezone.now() + timedelta(days=2)
    trigger = make_trigger(condition={"cron": "0 * * * *", "starts_at": format_timestamp(starts),
                                      "ends_at": format_timestamp(starts + timedelta(hours=3))})
    assert trigger.next_fire_at >= starts and trigger.next_fire_at - starts < timedelta(hours=1)
    ended = make_trigger(name="old", condition={"cron": "0 * * * *", "ends_at": "2001-01-01T00:00:00"})
    assert ended.next_fire_at is None


def test_the_timezone_decides_the_utc_tick(db):
    trigger = make_trigger(condition={"cron": "0 9 * * *", "timezone": "America/New_York"})
    assert trigger.next_fire_at.astimezone(timezone.get_current_timezone()).hour in (13, 14)


def test_a_template_that_cannot_create_an_intent_records_a_failed_fire_and_moves_on(db):
    trigger = make_trigger(condition={"cron": "* * * * *"}, intent_template={"title": "x", "status": "{{ trigger.name }}"})
    due(trigger)
    assert services.schedule_tick() == 1  # claimed and recorded, not retried forever
    assert TriggerFire.objects.get().outcome == "failed"
    assert not Intent.objects.exists()
    assert Trigger.objects.get(pk=trigger.pk).next_fire_at > timezone.now()


@pytest.mark.parametrize("cron", ["*/5 * * * * *"])
def test_seconds_schedules_need_the_test_setting(db, settings, cron):
    from openintent_project.errors import InvalidInput

    with pytest.raises(InvalidInput):
        make_trigger(condition={"cron": cron})
    settings.TRIGGERS_ALLOW_SECONDS_CRON = True
    trigger = make_trigger(condition={"cron": cron})
    assert trigger.next_fire_at - timezone.now() <= timedelta(seconds=5)
