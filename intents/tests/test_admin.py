"""Operators: intents change only through services; the event log is read-only for everyone."""

from intents.models import Event, Intent
from intents.tests.factories import IntentFactory


def test_event_log_cannot_be_added_changed_or_deleted_even_by_superusers(admin_client, api):
    intent = api.post("/api/v1/intents", {"title": "t"}, format="json").json()
    event = Event.objects.get(intent_id=intent["id"])
    assert admin_client.get("/admin/intents/event/").status_code == 200
    assert admin_client.get(f"/admin/intents/event/{event.pk}/change/").status_code == 200
    assert admin_client.get("/admin/intents/event/add/").status_code == 403
    assert admin_client.post(f"/admin/intents/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/intents/event/{event.pk}/change/", {"event_type": "forged"})
    assert Event.objects.get(pk=event.pk).event_type == "intent_created"


def test_admin_status_action_goes_through_the_service(admin_client, db):
    intent = IntentFactory()
    response = admin_client.post("/admin/intents/intent/", {"action": "mark_completed", "_selected_action": [str(intent.pk)]}, follow=True)
    assert response.status_code == 200
    intent.refresh_from_db()
    assert intent.status == "completed" and intent.version == 2
    event = Event.objects.get(intent=intent, event_type="status_changed")
    assert event.actor == "user:admin"


def test_admin_creates_intents_through_the_service(admin_client, db):
    admin_client.post("/admin/intents/intent/add/", {"title": "From admin", "description": ""})
    intent = Intent.objects.get(title="From admin")
    assert intent.created_by == "user:admin"
    assert Event.objects.filter(intent=intent, event_type="intent_created").exists()


def test_admin_intent_pages_render(admin_client, db):
    intent = IntentFactory(state={"k": [1, 2]})
    assert admin_client.get("/admin/intents/intent/?q=Intent").status_code == 200
    page = admin_client.get(f"/admin/intents/intent/{intent.pk}/change/")
    assert page.status_code == 200 and b"&quot;k&quot;" in page.content
