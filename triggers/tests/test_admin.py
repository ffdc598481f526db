"""The admin shows next fire time and last outcome; its actions go through the services."""

from intents.models import Intent
from triggers.models import Trigger, TriggerFire

from .factories import make_trigger


def test_the_list_shows_next_fire_and_last_outcome_without_the_secret(admin_client, django_assert_max_num_queries):
    trigger = make_trigger(name="nightly")
    make_trigger(type="webhook", name="hook", condition={"path": "/h", "secret": "very-secret-value"})
    admin_client.post("/admin/triggers/trigger/", {"action": "fire_selected", "_selected_action": [str(trigger.pk)]})
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/triggers/trigger/").content.decode()
    assert "nightly" in page and "fired" in page
    trigger.refresh_from_db()
    assert trigger.fire_count == 1 and Intent.objects.count() == 1
    hook = Trigger.objects.get(name="hook")
    detail = admin_client.get(f"/admin/triggers/trigger/{hook.pk}/change/").content.decode()
    assert "very-secret-value" not in detail and hook.secret_encrypted not in detail


def test_enable_and_disable_actions_bump_the_version_and_reschedule(admin_client):
    trigger = make_trigger()
    admin_client.post("/admin/triggers/trigger/", {"action": "disable_selected", "_selected_action": [str(trigger.pk)]})
    trigger.refresh_from_db()
    assert trigger.enabled is False and trigger.version == 2 and trigger.next_fire_at is None
    # A disabled trigger cannot be fired: the action reports it instead of firing.
    response = admin_client.post("/admin/triggers/trigger/", {"action": "fire_selected", "_selected_action": [str(trigger.pk)]}, follow=True)
    assert "Trigger is disabled" in response.content.decode()
    assert not TriggerFire.objects.exists()
    admin_client.post("/admin/triggers/trigger/", {"action": "enable_selected", "_selected_action": [str(trigger.pk)]})
    trigger.refresh_from_db()
    assert trigger.enabled is True and trigger.version == 3 and trigger.next_fire_at is not None


def test_the_history_page_lists_fires(admin_client):
    trigger = make_trigger()
    admin_client.post("/admin/triggers/trigger/", {"action": "fire_selected", "_selected_action": [str(trigger.pk)]})
    assert str(trigger.pk) in admin_client.get("/admin/triggers/triggerfire/").content.decode()


def test_deleting_in_the_admin_goes_through_the_service_and_keeps_history(admin_client):
    trigger = make_trigger()
    admin_client.post("/admin/triggers/trigger/", {"action": "fire_selected", "_selected_action": [str(trigger.pk)]})
    admin_client.post("/admin/triggers/trigger/", {"action": "delete_selected", "_selected_action": [str(trigger.pk)], "post": "yes"})
    assert not Trigger.objects.exists()
    assert TriggerFire.objects.filter(trigger_id=trigger.pk).count() == 1
