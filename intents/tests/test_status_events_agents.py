"""Status, the event log, and agent assignment (01)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from intents.models import Assignment, Event


@pytest.fixture
def intent(api):
    return api.post("/api/v1/intents", {"title": "t"}, format="json").json()


def set_status(api, intent_id, status, version, **extra):
    return api.post(f"/api/v1/intents/{intent_id}/status", {"status": status, **extra}, format="json", HTTP_IF_MATCH=str(version))


def test_status_change_logs_event_with_reason(api, intent):
    response = set_status(api, intent["id"], "completed", 1, reason="done")
    assert response.status_code == 200
    assert response.json()["status"] == "completed" and response.json()["version"] == 2
    event = Event.objects.get(intent_id=intent["id"], event_type="status_changed")
    assert event.payload["reason"] == "done" and event.payload["status"] == "completed"


def test_any_transition_is_allowed_but_unknown_status_is_400(api, intent):
    assert set_status(api, intent["id"], "suspended_awaiting_input", 1).status_code == 200
    assert set_status(api, intent["id"], "draft", 2).status_code == 200
    response = set_status(api, intent["id"], "flying", 3)
    assert response.status_code == 400 and response.json()["detail"][0]["type"] == "enum"


def test_events_have_gap_free_sequences_and_list_newest_first(api, intent):
    for n in range(3):
        response = api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a", "payload": {"n": n}, "trace_id": "t1"}, format="json")
        assert response.status_code == 200
        assert response.json()["trace_id"] == "t1"
    events = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert [e["sequence"] for e in events] == [4, 3, 2, 1]
    assert events[0]["payload"] == {"n": 2}


def test_event_filters_and_paging(api, intent):
    for n in range(5):
        api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a"}, format="json")
    base = f"/api/v1/intents/{intent['id']}/events"
    assert len(api.get(f"{base}?event_type=comment").json()) == 5
    assert len(api.get(f"{base}?limit=2&offset=4").json()) == 2
    Event.objects.filter(intent_id=intent["id"], sequence__lte=2).update(created_at=timezone.now() - timedelta(hours=1))
    since = (timezone.now() - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    assert {e["sequence"] for e in api.get(f"{base}?since={since}").json()} == {3, 4, 5, 6}
    assert api.get(f"{base}?limit=0").status_code == 400
    assert api.get(f"{base}?since=yesterday").status_code == 400


def test_events_of_unknown_intent_is_empty_list(api):
    assert api.get("/api/v1/intents/nonexistent-id/events").json() == []


@pytest.mark.parametrize("body", [{"actor": "a"}, {"event_type": "x"}, {"event_type": "x" * 101, "actor": "a"}, {"event_type": "x", "actor": "a", "payload": []}])
def test_bad_event_bodies_are_400(api, intent, body):
    assert api.post(f"/api/v1/intents/{intent['id']}/events", body, format="json").status_code == 400


def test_event_on_unknown_intent_is_404(api):
    assert api.post("/api/v1/intents/nonexistent-id/events", {"event_type": "x", "actor": "a"}, format="json").status_code == 404


def test_repeated_assignment_keeps_one_row_and_logs_each_time(api, intent):
    url = f"/api/v1/intents/{intent['id']}/agents"
    first = api.post(url, {"agent_id": "bot"}, format="json").json()
    second = api.post(url, {"agent_id": "bot", "role": "lead"}, format="json").json()
    assert first["id"] == second["id"] and second["role"] == "lead"
    assert Assignment.objects.count() == 1
    assert Event.objects.filter(event_type="agent_assigned").count() == 2
    assert [a["agent_id"] for a in api.get(url).json()] == ["bot"]


def test_unassign(api, intent):
    url = f"/api/v1/intents/{intent['id']}/agents"
    api.post(url, {"agent_id": "bot"}, format="json")
    assert api.delete(f"{url}/bot").status_code == 204
    assert api.delete(f"{url}/bot").status_code == 404
    assert Event.objects.filter(event_type="agent_unassigned").count() == 1


def test_suspension_respond_persists_the_answer(api, intent):
    api.post(f"/api/v1/intents/{intent['id']}/state", {"state": {"_suspension": {"id": "s1", "response_type": "confirm"}}}, format="json", HTTP_IF_MATCH="1")
    set_status(api, intent["id"], "suspended_awaiting_input", 2)
    url = f"/api/v1/intents/{intent['id']}/suspend/respond"
    assert api.post(url, {"value": "yes"}, format="json").status_code == 400
    assert api.post(url, {"suspension_id": "other", "value": "yes"}, format="json").status_code == 409
    bad = api.post(url, {"suspension_id": "s1", "value": "maybe"}, format="json")
    assert bad.status_code == 422 and bad.json()["detail"]["error"] == "invalid_choice"
    response = api.post(url, {"suspension_id": "s1", "value": "yes"}, format="json")
    assert response.status_code == 200 and response.json()["choice_label"] == "Yes"
    stored = api.get(f"/api/v1/intents/{intent['id']}").json()
    assert stored["status"] == "active" and stored["version"] == 5
    assert stored["state"]["_suspension"]["resolution"] == "responded"
    assert stored["state"]["_suspension"]["response"] == "yes"
    assert api.post(url, {"suspension_id": "s1", "value": "yes"}, format="json").status_code == 409


def test_event_list_text_rendering_equals_the_event_dicts(api, intent):
    from intents.representations import event_dict

    api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "naïve \"quote\"", "actor": "a/b", "payload": {"x": [1, {"y": "ü"}], "n": None}, "trace_id": "t", "parent_event_id": "p"}, format="json")
    listed = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    expected = [event_dict(e) for e in Event.objects.filter(intent_id=intent["id"]).order_by("-sequence")]
    assert listed == expected


def test_event_list_text_rendering_keeps_whole_second_timestamps(api, intent):
    """A timestamp with no microseconds is stored and formatted without a fraction."""
    from datetime import datetime, timezone

    from intents.representations import event_dict

    api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a", "payload": {}}, format="json")
    Event.objects.filter(intent_id=intent["id"], event_type="comment").update(
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    )
    listed = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert listed[0]["created_at"] == "2026-01-02T03:04:05"
    expected = [event_dict(e) for e in Event.objects.filter(intent_id=intent["id"]).order_by("-sequence")]
    assert listed == expected
