"""Event triggers (17 §5 "Matching"): committed events are matched in a Celery task."""

import pytest

from intents.models import Event, Intent
from triggers import services
from triggers.models import TriggerFire

from .factories import make_trigger


def new_intent(api, **body):
    response = api.post("/api/v1/intents", {"title": "Source", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def complete(api, intent, status="completed"):
    response = api.post(f"/api/v1/intents/{intent['id']}/status", {"status": status}, format="json", HTTP_IF_MATCH=str(intent["version"]))
    assert response.status_code == 200, response.content


def created_by_trigger():
    return Intent.objects.filter(state___trigger__created_by="trigger")


def test_a_matching_event_fires_the_trigger_after_commit(api, django_capture_on_commit_callbacks):
    trigger = make_trigger(type="event", condition={"event": "status_changed", "filter": {"status": "completed"}},
                           intent_template={"type": "followup", "title": "Follow up {{ event.intent_id }}",
                                            "context": {"from": "{{ event.status }}", "by": "{{ event.actor }}"}})
    source = new_intent(api)
    with django_capture_on_commit_callbacks(execute=True):
        complete(api, source)
    made = created_by_trigger().get()
    assert made.title == f"Follow up {source['id']}"
    assert made.state["from"] == "completed" and made.state["by"] == "agent-owner"
    assert made.state["_trigger"]["source"] == "event"
    assert TriggerFire.objects.get(trigger_id=trigger.pk).dedup_key.startswith("event:")


def test_a_non_matching_event_does_not_fire(api, django_capture_on_commit_callbacks):
    make_trigger(type="event", condition={"event": "intent.resolved"})
    source = new_intent(api)
    with django_capture_on_commit_callbacks(execute=True):
        complete(api, source, status="active")
    assert not created_by_trigger().exists()
    source = api.get(f"/api/v1/intents/{source['id']}").json()
    with django_capture_on_commit_callbacks(execute=True):
        complete(api, source, status="completed")  # intent.resolved ≙ status_changed → completed
    assert created_by_trigger().count() == 1


@pytest.mark.parametrize("condition, fires", [
    ({"event": "intent_*"}, True),
    ({"event": "intent_created", "filter": {"title": "Sou*"}}, True),
    ({"event": "intent_created", "filter": {"title": "Other"}}, False),
    ({"event": "intent_created", "filter": {"actor": "agent-owner"}}, True),
    ({"event": "intent.created"}, True),
    ({"event": "lease_acquired"}, False),
])
def test_globs_and_filters(api, django_capture_on_commit_callbacks, condition, fires):
    make_trigger(type="event", condition=condition, intent_template={"title": "made"})
    with django_capture_on_commit_callbacks(execute=True):
        new_intent(api)
    assert Intent.objects.filter(title="made").exists() is fires


def test_a_redelivered_dispatch_task_fires_once(api):
    make_trigger(type="event", condition={"event": "intent_created"}, intent_template={"title": "made"})
    source = new_intent(api)  # on_commit callbacks are not run here: dispatch by hand, twice
    event = Event.objects.get(intent_id=source["id"], event_type="intent_created")
    assert services.event_dispatch(event_id=event.pk) == 1
    assert services.event_dispatch(event_id=event.pk) == 0
    assert Intent.objects.filter(title="made").count() == 1


def test_a_trigger_feeding_on_its_own_output_stops_at_the_cascade_limit(api, settings, django_capture_on_commit_callbacks):
    settings.TRIGGERS_MAX_DEPTH = 3
    trigger = make_trigger(type="event", condition={"event": "intent_created"}, intent_template={"title": "loop"})
    with django_capture_on_commit_callbacks(execute=True):
        new_intent(api)
    made = Intent.objects.filter(title="loop")
    assert sorted(i.state["_trigger"]["trigger_depth"] for i in made) == [1, 2, 3]
    deepest = made.get(state___trigger__trigger_depth=3)
    limit = Event.objects.get(intent=deepest, event_type="trigger.cascade_limit").payload
    assert limit["trigger_depth"] == 4 and limit["max_depth"] == 3 and limit["trigger_chain"] == [str(trigger.pk)] * 4
    assert TriggerFire.objects.filter(outcome="cascade_limit").count() == 1


def test_writes_are_not_slowed_when_no_event_trigger_exists(api, django_capture_on_commit_callbacks, monkeypatch):
    from triggers import tasks

    calls = []
    monkeypatch.setattr(tasks.event_dispatch_task, "delay", lambda *a: calls.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        new_intent(api)
    assert calls == []
    make_trigger(type="event", condition={"event": "x-custom"})
    with django_capture_on_commit_callbacks(execute=True):
        new_intent(api)
    assert len(calls) == 1


def test_agent_lifecycle_emissions_match_event_triggers(db):
    make_trigger(type="event", condition={"event": "agent.dead", "filter": {"agent_id": "agent-*"}},
                 intent_template={"title": "replace {{ event.agent_id }}"})
    assert services.lifecycle_event_dispatch(event_type="agent.dead", actor="system", payload={"agent_id": "agent-7"}, key="k1") == 1
    assert services.lifecycle_event_dispatch(event_type="agent.dead", actor="system", payload={"agent_id": "agent-7"}, key="k1") == 0
    assert services.lifecycle_event_dispatch(event_type="agent.registered", actor="system", payload={"agent_id": "agent-7"}, key="k2") == 0
    assert Intent.objects.get().title == "replace agent-7"


def test_a_trigger_reacting_to_its_own_skips_is_bounded(api, settings, django_capture_on_commit_callbacks):
    """Skips are logged on the *existing* intent, whose depth never grows: the skip event
    carries the fire's lineage, so the chain still hits the cascade limit and stops."""
    settings.TRIGGERS_MAX_DEPTH = 4
    trigger = make_trigger(type="event", condition={"event": "trigger.skipped"}, deduplication="skip",
                           intent_template={"type": "loopy", "title": "loopy"})
    with django_capture_on_commit_callbacks(execute=True):
        first = services.trigger_fire_manual(principal=trigger_owner(), trigger_id=trigger.pk)  # creates one
    with django_capture_on_commit_callbacks(execute=True):
        services.trigger_fire_manual(principal=trigger_owner(), trigger_id=trigger.pk)  # skip → chain of skips
    outcomes = list(TriggerFire.objects.filter(trigger_id=trigger.pk).order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["fired", "skipped", "skipped", "skipped", "skipped", "cascade_limit"]
    assert Intent.objects.filter(title="loopy").count() == 1 and first.intent is not None


def trigger_owner():
    from .factories import OWNER

    return OWNER
