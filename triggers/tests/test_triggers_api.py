"""RFC-0017 trigger routes over the API: create, read, list, update, delete, fire, history."""

import pytest

from intents.models import Event, Intent
from triggers.models import Trigger, TriggerFire


def create(api, **body):
    response = api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def schedule_body(**extra):
    return {"name": "daily", "type": "schedule", "condition": {"cron": "0 9 * * *", "timezone": "Europe/Paris"},
            "intent_template": {"type": "report", "title": "Daily {{ trigger.fire_count }}"}, **extra}


def test_create_returns_the_trigger_with_version_1_and_next_fire_time(api):
    trigger = create(api, **schedule_body())
    assert trigger["version"] == 1 and trigger["fire_count"] == 0 and trigger["enabled"] is True
    assert trigger["deduplication"] == "allow" and trigger["namespace"] is None
    assert trigger["created_by"] == "agent-owner"
    # 09:00 Paris is 07:00 or 08:00 UTC, always in naive UTC.
    assert trigger["next_fire_at"].endswith((":00:00", "T07:00:00", "T08:00:00"))
    assert trigger["next_fire_at"][11:13] in ("07", "08")
    assert "Z" not in trigger["created_at"]


@pytest.mark.parametrize("body, loc", [
    ({"name": "x", "type": "cronjob"}, ["body", "type"]),
    ({"name": "x", "type": "schedule", "condition": {"cron": "61 * * * *"}}, ["body", "condition", "cron"]),
    ({"name": "x", "type": "schedule", "condition": {"cron": "* * * *"}}, ["body", "condition", "cron"]),
    ({"name": "x", "type": "schedule", "condition": {"cron": "0 9 * * *", "timezone": "Mars/Olympus"}}, ["body", "condition", "timezone"]),
    ({"name": "x", "type": "schedule", "condition": {"at": "2001-01-01T00:00:00Z"}}, ["body", "condition", "at"]),
    ({"name": "x", "type": "schedule", "condition": {}}, ["body", "condition", "cron"]),
    ({"name": "x", "type": "event", "condition": {}}, ["body", "condition", "event"]),
    ({"name": "x", "type": "webhook", "condition": {"method": "POST"}}, ["body", "condition", "path"]),
    ({"name": "x", "type": "event", "condition": {"event": "a"}, "deduplication": "maybe"}, ["body", "deduplication"]),
    ({"name": "x", "type": "event", "condition": "every day"}, ["body", "condition"]),
    ({"name": "x", "type": "event", "condition": {"event": "a"}, "intent_template": {"status": "flying"}}, ["body", "intent_template", "status"]),
    ({"type": "event"}, ["body", "name"]),
])
def test_invalid_bodies_are_400_with_the_field(api, body, loc):
    response = api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 400, response.content
    assert loc in [item["loc"] for item in response.json()["detail"]]


def test_shorthands_fold_into_condition_and_template(api):
    trigger = create(api, name="w", type="webhook", path="hooks/in", webhook_secret="s3cret", dedup="skip",
                     template={"type": "t", "title": "x"})
    assert trigger["condition"] == {"path": "/hooks/in", "method": "POST"}
    assert trigger["deduplication"] == "skip"
    assert trigger["intent_template"] == {"type": "t", "title": "x"}
    assert Trigger.objects.get(pk=trigger["trigger_id"]).secret_encrypted
    event = create(api, name="e", type="event", event_type="intent_created")
    assert event["condition"] == {"event": "intent_created"}
    cron = create(api, name="c", type="schedule", cron="*/5 * * * *", timezone="UTC")
    assert cron["condition"] == {"cron": "*/5 * * * *", "timezone": "UTC"}


def test_the_webhook_secret_is_write_only_and_encrypted(api):
    trigger = create(api, name="w", type="webhook", condition={"path": "/p", "secret": "top-secret-value"})
    assert "secret" not in trigger["condition"]
    assert "top-secret-value" not in api.get(f"/api/v1/triggers/{trigger['trigger_id']}").content.decode()
    assert "top-secret-value" not in api.get("/api/v1/triggers").content.decode()
    row = Trigger.objects.get(pk=trigger["trigger_id"])
    assert "top-secret-value" not in row.secret_encrypted and "top-secret-value" not in str(row.condition)
    # A PATCH whose condition omits the secret keeps it; null removes it.
    patched = api.patch(f"/api/v1/triggers/{trigger['trigger_id']}", {"condition": {"path": "/p2"}}, format="json", HTTP_IF_MATCH="1")
    assert patched.status_code == 200, patched.content
    assert Trigger.objects.get(pk=trigger["trigger_id"]).secret_encrypted == row.secret_encrypted
    api.patch(f"/api/v1/triggers/{trigger['trigger_id']}", {"condition": {"path": "/p2", "secret": None}}, format="json", HTTP_IF_MATCH="2")
    assert Trigger.objects.get(pk=trigger["trigger_id"]).secret_encrypted == ""


def test_at_is_returned_in_naive_utc(api):
    trigger = create(api, name="once", type="schedule", condition={"at": "2999-01-01T10:00:00+02:00"})
    assert trigger["condition"]["at"] == "2999-01-01T08:00:00"
    assert trigger["next_fire_at"] == "2999-01-01T08:00:00"


def test_a_second_webhook_on_the_same_route_is_409(api):
    create(api, name="a", type="webhook", condition={"path": "/hooks/same"})
    response = api.post("/api/v1/triggers", {"name": "b", "type": "webhook", "condition": {"path": "hooks/same/"}}, format="json")
    assert response.status_code == 409
    assert api.post("/api/v1/triggers", {"name": "c", "type": "webhook", "condition": {"path": "/hooks/same", "method": "PUT"}}, format="json").status_code == 200


def test_get_unknown_is_404(api):
    for trigger_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api.get(f"/api/v1/triggers/{trigger_id}")
        assert response.status_code == 404 and response.json()["detail"] == "Trigger not found"


def test_list_filters_by_namespace_type_and_enabled(api, django_assert_max_num_queries):
    create(api, **schedule_body(namespace="ops"))
    create(api, name="e", type="event", condition={"event": "x"}, namespace="ops", enabled=False)
    create(api, name="e2", type="event", condition={"event": "x"})
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/v1/triggers").json()) == 3
    assert [t["name"] for t in api.get("/api/v1/triggers?namespace=ops&type=event").json()] == ["e"]
    assert [t["name"] for t in api.get("/api/v1/triggers?enabled=false").json()] == ["e"]
    assert len(api.get("/api/v1/triggers?enabled=true").json()) == 2


def test_patch_needs_if_match_428_checks_version_and_bumps_it(api):
    trigger = create(api, **schedule_body())
    url = f"/api/v1/triggers/{trigger['trigger_id']}"
    assert api.patch(url, {"enabled": False}, format="json").status_code == 428
    assert api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="abc").status_code == 428
    assert api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="7").status_code == 409
    response = api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="1")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2 and body["enabled"] is False and body["next_fire_at"] is None
    # Shorthands fold into the stored condition on PATCH as well.
    body = api.patch(url, {"enabled": True, "cron": "30 6 * * *"}, format="json", HTTP_IF_MATCH="2").json()
    assert body["condition"]["cron"] == "30 6 * * *" and body["condition"]["timezone"] == "Europe/Paris"
    assert body["next_fire_at"] is not None
    bad = api.patch(url, {"condition": {"cron": "nope"}}, format="json", HTTP_IF_MATCH="3")
    assert bad.status_code == 400
    assert api.patch("/api/v1/triggers/00000000-0000-0000-0000-000000000000", {}, format="json", HTTP_IF_MATCH="1").status_code == 404


def test_manual_fire_creates_the_intent_from_the_template(api):
    trigger = create(api, name="tpl", type="event", condition={"event": "x-never"}, intent_template={
        "type": "report", "title": "Run {{ trigger.fire_count }} of {{trigger.name}}",
        "description": "by {{ payload.who }}", "context": {"who": "{{ payload.who }}", "n": "{{ payload.n }}", "missing": "{{ payload.nope }}"},
        "assignee": "agent-worker", "priority": "high", "tags": ["a"],
    })
    response = api.post(f"/api/v1/triggers/{trigger['trigger_id']}/fire", {"payload": {"who": "ops", "n": 3}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "fired" and body["fire_count"] == 1 and body["deduplicated"] is False
    intent = Intent.objects.get(pk=body["intent_id"])
    assert intent.title == "Run 1 of tpl" and intent.description == "by ops" and intent.status == "active"
    assert intent.created_by == "agent-owner"
    assert intent.state["who"] == "ops" and intent.state["n"] == 3 and intent.state["missing"] is None
    lineage = intent.state["_trigger"]
    assert lineage["trigger_id"] == trigger["trigger_id"] and lineage["trigger_depth"] == 1
    assert lineage["source"] == "manual" and lineage["intent_type"] == "report" and lineage["priority"] == "high"
    assert body["intent"]["id"] == body["intent_id"]
    types = list(Event.objects.filter(intent=intent).order_by("sequence").values_list("event_type", flat=True))
    assert types == ["intent_created", "agent_assigned", "trigger.fired"]
    fired = Event.objects.get(intent=intent, event_type="trigger.fired").payload
    assert fired["created_intent_id"] == body["intent_id"] and fired["source"] == "manual"
    got = api.get(f"/api/v1/triggers/{trigger['trigger_id']}").json()
    assert got["fire_count"] == 1 and got["version"] == 1 and got["last_fired_at"]
    history = api.get(f"/api/v1/triggers/{trigger['trigger_id']}/history").json()
    assert history == [{"fired_at": history[0]["fired_at"], "source": "manual", "outcome": "fired",
                        "intent_id": body["intent_id"], "fire_count": 1}]


def test_the_official_client_fire_posts_no_body(api):
    trigger = create(api, **schedule_body())
    response = api.post(f"/api/v1/triggers/{trigger['trigger_id']}/fire")
    assert response.status_code == 200 and response.json()["fire_count"] == 1


def test_firing_a_disabled_trigger_is_409_and_unknown_404(api):
    trigger = create(api, **schedule_body(enabled=False))
    response = api.post(f"/api/v1/triggers/{trigger['trigger_id']}/fire")
    assert response.status_code == 409 and response.json()["detail"] == "Trigger is disabled"
    assert api.post("/api/v1/triggers/00000000-0000-0000-0000-000000000000/fire").status_code == 404
    assert not Intent.objects.exists()


def test_skip_deduplication_skips_while_an_active_match_exists(api):
    trigger = create(api, **schedule_body(deduplication="skip"))
    url = f"/api/v1/triggers/{trigger['trigger_id']}/fire"
    first = api.post(url).json()
    second = api.post(url).json()
    assert second == {"status": "skipped", "fire_count": 1, "trigger_id": trigger["trigger_id"],
                      "deduplicated": True, "existing_intent_id": first["intent_id"]}
    assert Intent.objects.count() == 1
    assert Event.objects.filter(intent_id=first["intent_id"], event_type="trigger.skipped").count() == 1
    Intent.objects.filter(pk=first["intent_id"]).update(status="completed")
    assert api.post(url).json()["status"] == "fired"
    outcomes = [h["outcome"] for h in api.get(f"/api/v1/triggers/{trigger['trigger_id']}/history").json()]
    assert outcomes == ["fired", "skipped", "fired"]


def test_queue_deduplication_fires_once_the_blocking_intent_completes(api, django_capture_on_commit_callbacks):
    trigger = create(api, **schedule_body(deduplication="queue"))
    url = f"/api/v1/triggers/{trigger['trigger_id']}/fire"
    first = api.post(url).json()
    assert api.post(url).json()["status"] == "queued"
    assert api.post(url).json()["status"] == "queued"  # still one pending fire
    assert Trigger.objects.get(pk=trigger["trigger_id"]).pending_fire
    intent = api.get(f"/api/v1/intents/{first['intent_id']}").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/intents/{first['intent_id']}/status", {"status": "completed"}, format="json", HTTP_IF_MATCH=str(intent["version"]))
    assert response.status_code == 200, response.content
    assert Intent.objects.count() == 2
    assert not Trigger.objects.get(pk=trigger["trigger_id"]).pending_fire
    assert api.get(f"/api/v1/triggers/{trigger['trigger_id']}/history").json()[0]["source"] == "queue"


def test_delete_keeps_created_intents_and_history(api):
    trigger = create(api, **schedule_body())
    fired = api.post(f"/api/v1/triggers/{trigger['trigger_id']}/fire").json()
    response = api.delete(f"/api/v1/triggers/{trigger['trigger_id']}")
    assert response.json() == {"status": "deleted", "trigger_id": trigger["trigger_id"]}
    assert api.get(f"/api/v1/triggers/{trigger['trigger_id']}").status_code == 404
    assert api.delete(f"/api/v1/triggers/{trigger['trigger_id']}").status_code == 404
    assert Intent.objects.filter(pk=fired["intent_id"]).exists()
    assert len(api.get(f"/api/v1/triggers/{trigger['trigger_id']}/history").json()) == 1
    assert api.get("/api/v1/triggers/00000000-0000-0000-0000-000000000001/history").status_code == 404


def test_a_template_that_names_a_missing_parent_fails_the_manual_fire_and_records_nothing(api):
    trigger = create(api, **schedule_body(intent_template={"title": "x", "parent_intent_id": "00000000-0000-0000-0000-000000000009"}))
    response = api.post(f"/api/v1/triggers/{trigger['trigger_id']}/fire")
    assert response.status_code == 404
    assert not TriggerFire.objects.exists() and not Intent.objects.exists()


def test_webhook_secret_follows_vault_key_rotation(api, settings, tmp_path):
    from django.core.management import call_command
    from django.utils import timezone

    from triggers import secrets
    from vaults.crypto import generate_key_line

    old, new = generate_key_line(), generate_key_line()
    settings.OPENINTENT_VAULT_KEYS = [old]
    sealed = secrets.secret_encrypt("hook-secret")
    now = timezone.now()
    trigger = Trigger.objects.create(name="hook", type="webhook", secret_encrypted=sealed, created_at=now, updated_at=now)
    settings.OPENINTENT_VAULT_KEYS = [new, old]
    assert secrets.secret_decrypt(sealed) == "hook-secret"
    call_command("vaults_reencrypt", stdout=open(tmp_path / "out.txt", "w"))
    trigger.refresh_from_db()
    assert trigger.secret_encrypted != sealed
    settings.OPENINTENT_VAULT_KEYS = [new]
    assert secrets.secret_decrypt(trigger.secret_encrypted) == "hook-secret"
