"""Lease services: expiry announcements, server-side release, access and governance hooks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from intents.access import Permission
from intents.models import Event, Lease
from intents.services import leases as lease_services
from intents.tasks import lease_expiry_task
from openintent_project.api.principal import Principal
from openintent_project.errors import Forbidden

from .factories_leases import IntentFactory, LeaseFactory

OWNER = Principal(id="agent-owner", api_key="dev-user-key", agent_header=True)


def released_events(intent=None):
    queryset = Event.objects.filter(event_type="lease_released")
    if intent is not None:
        queryset = queryset.filter(intent=intent)
    return list(queryset.order_by("id"))


# --- expiry -----------------------------------------------------------------------------

def test_expiry_task_announces_each_expired_lease_exactly_once(db):
    now = timezone.now()
    expired = LeaseFactory(expires_at=now - timedelta(seconds=1))
    LeaseFactory(expires_at=now + timedelta(seconds=60))  # still active
    LeaseFactory(expires_at=now - timedelta(seconds=1), released_at=now, holds_scope=False)  # released
    assert lease_expiry_task() == 1
    assert lease_expiry_task() == 0
    [event] = released_events()
    assert event.intent_id == expired.intent_id
    assert event.actor == "system"
    assert event.payload == {"lease_id": str(expired.pk), "scope": expired.scope, "agent_id": "agent-owner", "reason": "expired"}
    expired.refresh_from_db()
    assert expired.expiry_announced_at is not None and expired.released_at is None
    assert expired.status == "expired"


def test_a_stale_claim_does_not_announce_twice(db):
    """Two sweeps that both read the lease as due: the conditional update lets one win."""
    lease = LeaseFactory(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_services.lease_announce_expiry(lease_id=lease.pk, intent_id=lease.intent_id) == 1
    assert lease_services.lease_announce_expiry(lease_id=lease.pk, intent_id=lease.intent_id) == 0
    assert len(released_events()) == 1


def test_a_revived_lease_is_announced_again_on_its_next_expiry(api, db):
    intent = IntentFactory()
    lease = LeaseFactory(intent=intent, expires_at=timezone.now() - timedelta(seconds=1))
    lease_expiry_task()
    api.patch(f"/api/v1/intents/{intent.pk}/leases/{lease.pk}", {"duration_seconds": -1}, format="json")
    assert lease_expiry_task() == 1
    assert len(released_events(intent)) == 2


def test_reads_treat_an_expired_lease_as_gone_before_the_task_runs(api, db):
    intent = IntentFactory()
    LeaseFactory(intent=intent, scope="s", agent_id="agent-other", expires_at=timezone.now() - timedelta(milliseconds=1))
    [listed] = api.get(f"/api/v1/intents/{intent.pk}/leases").json()["leases"]
    assert listed["status"] == "expired"
    assert api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json").status_code == 200


def test_the_beat_schedule_has_the_expiry_job_with_the_configured_period(settings):
    from openintent_project.celery import collect_beat_schedule

    entry = collect_beat_schedule()["intents-lease-expiry"]
    assert entry["task"] == "intents.tasks.lease_expiry_task"
    assert entry["schedule"] == settings.OPENINTENT_LEASE_EXPIRY_SECONDS == 5.0


# --- server-side release --------------------------------------------------------------------

def test_release_all_for_agent_releases_every_active_lease_with_the_reason(db):
    now = timezone.now()
    a, b = LeaseFactory(agent_id="agent-x"), LeaseFactory(agent_id="agent-x")
    LeaseFactory(agent_id="agent-x", expires_at=now - timedelta(seconds=1))  # expired: not active
    other = LeaseFactory(agent_id="agent-y")
    assert lease_services.lease_release_all_for_agent(agent_id="agent-x", reason="access_revoked") == 2
    assert lease_services.lease_release_all_for_agent(agent_id="agent-x", reason="access_revoked") == 0
    for lease in (a, b):
        lease.refresh_from_db()
        assert lease.released_at is not None and not lease.holds_scope
    other.refresh_from_db()
    assert other.released_at is None
    events = released_events()
    assert {e.payload["lease_id"] for e in events} == {str(a.pk), str(b.pk)}
    assert all(e.actor == "system" and e.payload["reason"] == "access_revoked" for e in events)
    assert all(set(e.payload) == {"lease_id", "scope", "agent_id", "reason"} for e in events)


def test_agent_death_expires_leases_and_marks_them_announced(db):
    lease = LeaseFactory(agent_id="agent-x")
    assert lease_services.lease_release_all_for_agent(agent_id="agent-x", reason="agent_dead") == 1
    lease.refresh_from_db()
    assert lease.status == "expired" and lease.released_at is None
    assert lease.expiry_announced_at is not None
    assert lease_expiry_task() == 0  # not announced a second time
    [event] = released_events()
    assert event.payload["reason"] == "agent_dead"


def test_operator_force_release(db):
    lease = LeaseFactory()
    operator = Principal(id="user:admin", api_key="", is_operator=True)
    with pytest.raises(Forbidden):
        lease_services.lease_force_release(principal=OWNER, lease_id=lease.pk)
    assert lease_services.lease_force_release(principal=operator, lease_id=lease.pk) is True
    assert lease_services.lease_force_release(principal=operator, lease_id=lease.pk) is False
    [event] = released_events()
    assert event.actor == "user:admin" and event.payload["reason"] == "operator"


# --- access control and governance hooks -----------------------------------------------------

def test_acquire_renew_release_need_write_and_list_needs_read(api, access_recorder):
    intent = IntentFactory()
    url = f"/api/v1/intents/{intent.pk}/leases"
    lease = api.post(url, {"scope": "s"}, format="json").json()
    api.patch(f"{url}/{lease['id']}", {}, format="json")
    api.get(url)
    api.delete(f"{url}/{lease['id']}")
    assert [p[2] for p in access_recorder.permissions] == ["write", "write", "read", "write"]
    assert access_recorder.policies == [("agent-owner", "lease", {"scope": "s"})]


def test_access_denial_comes_after_404_and_before_409(api, access_recorder):
    intent = IntentFactory()
    LeaseFactory(intent=intent, scope="s", agent_id="agent-other")
    access_recorder.deny_permission = {Permission.WRITE}
    assert api.post("/api/v1/intents/nope/leases", {"scope": "s"}, format="json").status_code == 404
    assert api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json").status_code == 403


def test_governance_refusal_is_403_and_the_violation_survives(api, access_recorder):
    intent = IntentFactory()
    access_recorder.deny_policy = {"lease": "allowed_agents"}
    response = api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"]["rule"] == "allowed_agents"
    assert not Lease.objects.exists()
    [violation] = Event.objects.filter(intent=intent, event_type="governance.violation")
    assert violation.payload["rule"] == "allowed_agents"


def test_a_draining_agent_gets_no_new_lease(api, db):
    from agents_registry.models import AgentRecord, AgentStatus

    from django.utils import timezone

    AgentRecord.objects.create(agent_id="agent-owner", status=AgentStatus.DRAINING, registered_at=timezone.now())
    intent = IntentFactory()
    response = api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json")
    assert response.status_code == 409 and "lease" in response.json()["detail"]
    other = make_client(agent_id="agent-other")
    assert other.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json").status_code == 200


def test_a_holder_that_lands_after_the_lock_is_refused_by_the_unique_constraint(api, db, monkeypatch):
    """The row lock normally prevents it; if a competing holder lands between the lock and
    the insert anyway, the insert (ON CONFLICT DO NOTHING against the partial unique
    constraint) takes nothing and the answer is a 409 naming that holder, not a 500."""
    intent = IntentFactory()
    competitor = {}

    def sneak_in(locked_intent):
        competitor["lease"] = LeaseFactory(intent=intent, scope="s", agent_id="agent-sneaky")
        return []

    monkeypatch.setattr(lease_services, "unresolvable_claim_inputs", sneak_in)
    response = api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json")
    assert response.status_code == 409
    assert response.json()["existing_lease"]["id"] == str(competitor["lease"].pk)
    assert not Event.objects.filter(intent=intent, event_type="lease_acquired").exists()


def test_a_held_scope_is_409_even_for_a_draining_agent(api, db):
    """03 check order: 409 held comes before the registered guards (16 draining)."""
    from agents_registry.models import AgentRecord, AgentStatus

    intent = IntentFactory()
    holder = LeaseFactory(intent=intent, scope="s", agent_id="agent-other")
    AgentRecord.objects.create(agent_id="agent-owner", status=AgentStatus.DRAINING, registered_at=timezone.now())
    response = api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json")
    assert response.status_code == 409
    assert response.json()["existing_lease"]["id"] == str(holder.pk)


def test_a_draining_refusal_leaves_no_lease_behind(api, db):
    from agents_registry.models import AgentRecord, AgentStatus

    AgentRecord.objects.create(agent_id="agent-owner", status=AgentStatus.DRAINING, registered_at=timezone.now())
    intent = IntentFactory()
    assert api.post(f"/api/v1/intents/{intent.pk}/leases", {"scope": "s"}, format="json").status_code == 409
    assert not Lease.objects.filter(intent=intent).exists()


def test_the_database_allows_one_slot_holder_per_scope(db):
    from django.db import IntegrityError, transaction

    lease = LeaseFactory(scope="s")
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaseFactory(intent=lease.intent, scope="s")
    LeaseFactory(intent=lease.intent, scope="s", holds_scope=False)  # retired rows do not count


def test_release_for_agent_on_one_intent_leaves_other_intents_alone(db):
    here, elsewhere = LeaseFactory(agent_id="agent-x"), LeaseFactory(agent_id="agent-x")
    assert lease_services.lease_release_for_agent_on_intent(
        intent_id=here.intent_id, agent_id="agent-x", reason="access_expired") == 1
    assert lease_services.lease_release_for_agent_on_intent(intent_id="nope", agent_id="agent-x", reason="x") == 0
    here.refresh_from_db()
    elsewhere.refresh_from_db()
    assert here.released_at is not None and elsewhere.released_at is None
    [event] = released_events()
    assert event.payload["reason"] == "access_expired" and event.actor == "system"


def test_a_refused_insert_reports_false_even_after_another_write_in_the_transaction(db):
    """The insert's success is read from the cursor's rowcount: a refused insert must not
    report the row count of an earlier statement of the same transaction."""
    from django.db import transaction

    from openintent_project.db import rows

    held = LeaseFactory(scope="s")
    other = LeaseFactory(intent=held.intent, scope="t")
    with transaction.atomic():
        assert Lease.objects.filter(pk=other.pk).update(release_reason="x") == 1
        now = timezone.now()
        duplicate = Lease(intent=held.intent, agent_id="agent-z", scope="s", acquired_at=now, expires_at=now)
        assert rows.insert_row_unless_conflict(duplicate) is False
    assert Lease.objects.filter(intent=held.intent, scope="s").count() == 1
