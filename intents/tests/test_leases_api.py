"""RFC-0003 leases over the API: acquire, list, renew, release, conflicts and errors (03)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from intents.models import Event, Lease

from .factories_leases import IntentFactory, LeaseFactory


@pytest.fixture
def intent(db):
    return IntentFactory()


def leases_url(intent_id, lease_id=None):
    base = f"/api/v1/intents/{intent_id}/leases"
    return f"{base}/{lease_id}" if lease_id else base


def acquire(api, intent_id, scope="research", **body):
    return api.post(leases_url(intent_id), {"scope": scope, **body}, format="json")


def events_of(intent, event_type):
    return list(Event.objects.filter(intent=intent, event_type=event_type).order_by("sequence"))


# --- acquire ------------------------------------------------------------------------------

def test_acquire_returns_the_lease_owned_by_the_principal(api, intent):
    response = acquire(api, intent.pk, duration_seconds=60, agent_id="someone-else")
    assert response.status_code == 200, response.content
    lease = response.json()
    assert lease["agent_id"] == "agent-owner"  # body agent_id is ignored (03)
    assert lease["scope"] == "research"
    assert lease["status"] == "active"
    assert lease["released_at"] is None
    assert lease["created_at"] == lease["acquired_at"]
    assert "Z" not in lease["expires_at"] and "+" not in lease["expires_at"]
    stored = Lease.objects.get(pk=lease["id"])
    assert (stored.expires_at - stored.acquired_at) == timedelta(seconds=60)
    [event] = events_of(intent, "lease_acquired")
    assert event.actor == "agent-owner"
    assert event.payload == {"scope": "research", "lease_id": lease["id"], "agent_id": "agent-owner"}


def test_acquire_defaults_to_300_seconds(api, intent):
    lease = acquire(api, intent.pk).json()
    stored = Lease.objects.get(pk=lease["id"])
    assert (stored.expires_at - stored.acquired_at) == timedelta(seconds=300)


def test_without_agent_header_the_key_owns_the_lease(intent):
    lease = acquire(make_client(), intent.pk).json()
    assert lease["agent_id"] == "dev-user-key"


def test_second_acquire_is_409_with_existing_lease_and_the_word_lease(api, intent):
    first = acquire(api, intent.pk).json()
    response = acquire(make_client(agent_id="agent-other"), intent.pk)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Lease already held for this scope"
    assert body["message"] == body["detail"]
    assert "lease" in response.content.decode().lower()
    assert body["existing_lease"]["id"] == first["id"]
    assert body["existing_lease"]["agent_id"] == "agent-owner"


def test_acquire_is_not_reentrant(api, intent):
    acquire(api, intent.pk)
    assert acquire(api, intent.pk).status_code == 409


def test_other_scopes_and_other_intents_are_independent(api, intent):
    assert acquire(api, intent.pk, "a").status_code == 200
    assert acquire(api, intent.pk, "b").status_code == 200
    assert acquire(api, IntentFactory().pk, "a").status_code == 200


def test_an_expired_lease_is_taken_over_in_the_same_transaction(api, intent):
    old = LeaseFactory(intent=intent, scope="research", agent_id="agent-other",
                       expires_at=timezone.now() - timedelta(seconds=1))
    response = acquire(api, intent.pk)
    assert response.status_code == 200
    old.refresh_from_db()
    assert old.holds_scope is False
    assert old.released_at is None  # expiry is not a release (03)


def test_a_released_lease_frees_the_scope(api, intent):
    lease = acquire(api, intent.pk).json()
    api.delete(leases_url(intent.pk, lease["id"]))
    assert acquire(make_client(agent_id="agent-other"), intent.pk).status_code == 200


def test_zero_duration_makes_a_lease_born_expired(api, intent):
    lease = acquire(api, intent.pk, duration_seconds=0).json()
    assert lease["status"] == "expired"
    assert acquire(api, intent.pk).status_code == 200


@pytest.mark.parametrize(
    "body, loc",
    [
        ({}, ["body", "scope"]),
        ({"scope": 5}, ["body", "scope"]),
        ({"scope": "x", "duration_seconds": 1.5}, ["body", "duration_seconds"]),
        ({"scope": "x", "duration_seconds": "abc"}, ["body", "duration_seconds"]),
        ({"scope": "x", "duration_seconds": True}, ["body", "duration_seconds"]),
        ({"scope": "x", "duration_seconds": 10**20}, ["body", "duration_seconds"]),
    ],
)
def test_invalid_acquire_bodies_are_400(api, intent, body, loc):
    response = api.post(leases_url(intent.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert not Lease.objects.exists()


def test_acquire_on_unknown_intent_is_404(api, db):
    for intent_id in ("nope", "00000000-0000-4000-8000-000000000000"):
        response = acquire(api, intent_id)
        assert response.status_code == 404
        assert response.json()["detail"] == "Intent not found"


def test_acquire_needs_a_key(intent):
    assert acquire(make_client(api_key=None), intent.pk).status_code == 401


# --- RFC-0024 claim check -----------------------------------------------------------------

def test_unresolvable_claim_inputs_are_422_and_the_violation_survives(api, intent):
    intent.state = {"_io_inputs": {"q": "$trigger.query", "r": "research.findings", "bad": 3, "x": "nodot"}}
    intent.save()
    response = acquire(api, intent.pk)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["error"] == "UnresolvableInputError" and detail["rule"] == "io_inputs"
    assert detail["unresolvable"] == ["$trigger.query", "research.findings", "bad: 3", "nodot"]
    [violation] = events_of(intent, "governance.violation")
    assert violation.payload == {"rule": "rfc0024_io_inputs", "unresolvable": detail["unresolvable"]}
    assert not Lease.objects.exists()
    assert not events_of(intent, "lease_acquired")


def test_resolvable_claim_inputs_allow_the_lease(api, db):
    upstream = IntentFactory(title="Research phase", status="completed", state={"findings": [1]})
    intent = IntentFactory(state={
        "query": "q",
        "_io_inputs": {"q": "$initial_state.query", "f": "research.findings"},
        "_io_dep_title_to_name": {"Research phase": "research"},
    }, depends_on_ids=[str(upstream.pk)])
    assert acquire(api, intent.pk).status_code == 200


def test_claim_inputs_need_a_completed_dependency(api, db):
    upstream = IntentFactory(title="research", status="active", state={"findings": [1]})
    intent = IntentFactory(state={"_io_inputs": {"f": "research.findings"}}, depends_on_ids=[str(upstream.pk)])
    assert acquire(api, intent.pk).status_code == 422


# --- list -------------------------------------------------------------------------------------

def test_list_wraps_leases_with_computed_status_oldest_first(api, intent):
    now = timezone.now()
    expired = LeaseFactory(intent=intent, acquired_at=now - timedelta(seconds=30), expires_at=now - timedelta(seconds=1))
    released = LeaseFactory(intent=intent, acquired_at=now - timedelta(seconds=20), released_at=now, holds_scope=False)
    active = LeaseFactory(intent=intent, acquired_at=now - timedelta(seconds=10))
    response = api.get(leases_url(intent.pk))
    assert response.status_code == 200
    leases = response.json()["leases"]
    assert [lease["id"] for lease in leases] == [str(expired.pk), str(released.pk), str(active.pk)]
    assert [lease["status"] for lease in leases] == ["expired", "released", "active"]
    only_active = api.get(leases_url(intent.pk) + "?status=active").json()["leases"]
    assert [lease["id"] for lease in only_active] == [str(active.pk)]


def test_list_of_unknown_intent_is_empty(api, db):
    assert api.get(leases_url("nope")).json() == {"leases": []}


def test_list_rejects_a_bad_status_filter(api, intent):
    assert api.get(leases_url(intent.pk) + "?status=flying").status_code == 400


def test_list_issues_a_fixed_number_of_queries(api, intent, django_assert_max_num_queries):
    LeaseFactory.create_batch(20, intent=intent)
    with django_assert_max_num_queries(3):
        assert len(api.get(leases_url(intent.pk)).json()["leases"]) == 20


def test_acquire_renew_release_touch_the_lease_table_once_twice_twice(api, intent):
    """The hot paths: an acquire is one INSERT (no separate holder check or expiry sweep);
    renewing a live lease and releasing are one read and one UPDATE each. Whatever else
    runs (intent lock, event) is counted by the intent's own tests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def lease_statements(context):
        return [q["sql"].split(" ", 1)[0] for q in context.captured_queries if '"intents_lease"' in q["sql"]]

    with CaptureQueriesContext(connection) as acquiring:
        lease = acquire(api, intent.pk).json()
    assert lease_statements(acquiring) == ["INSERT"]
    with CaptureQueriesContext(connection) as renewing:
        assert api.patch(leases_url(intent.pk, lease["id"]), {"duration_seconds": 60}, format="json").status_code == 200
    assert lease_statements(renewing) == ["SELECT", "UPDATE"]
    with CaptureQueriesContext(connection) as releasing:
        assert api.delete(leases_url(intent.pk, lease["id"])).status_code == 200
    assert lease_statements(releasing) == ["SELECT", "UPDATE"]


# --- renew ------------------------------------------------------------------------------------

def test_renew_sets_expiry_from_now_and_logs(api, intent):
    lease = acquire(api, intent.pk, duration_seconds=10).json()
    response = api.patch(leases_url(intent.pk, lease["id"]), {"duration_seconds": 600}, format="json")
    assert response.status_code == 200, response.content
    stored = Lease.objects.get(pk=lease["id"])
    assert timedelta(seconds=595) < stored.expires_at - timezone.now() <= timedelta(seconds=600)
    [event] = events_of(intent, "lease_renewed")
    assert event.payload == {"lease_id": lease["id"], "duration_seconds": 600, "scope": "research"}


def test_renew_with_empty_object_uses_300(api, intent):
    lease = acquire(api, intent.pk, duration_seconds=10).json()
    assert api.patch(leases_url(intent.pk, lease["id"]), {}, format="json").status_code == 200
    stored = Lease.objects.get(pk=lease["id"])
    assert stored.expires_at - timezone.now() > timedelta(seconds=290)


def test_renew_without_body_is_400(api, intent):
    lease = acquire(api, intent.pk).json()
    assert api.patch(leases_url(intent.pk, lease["id"])).status_code == 400


@pytest.mark.parametrize("who", ["other-agent", "wrong-intent", "unknown", "released"])
def test_renew_refusals_are_404(api, intent, who):
    lease = acquire(api, intent.pk).json()
    client, intent_id, lease_id = api, intent.pk, lease["id"]
    if who == "other-agent":
        client = make_client(agent_id="agent-other")
    elif who == "wrong-intent":
        intent_id = IntentFactory().pk
    elif who == "unknown":
        lease_id = "nope"
    else:
        api.delete(leases_url(intent.pk, lease["id"]))
    response = client.patch(leases_url(intent_id, lease_id), {"duration_seconds": 5}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Lease not found or not owned by you"


def test_renew_revives_an_expired_lease_when_the_scope_is_free(api, intent):
    lease = LeaseFactory(intent=intent, scope="s", expires_at=timezone.now() - timedelta(seconds=5),
                         expiry_announced_at=timezone.now(), holds_scope=False)
    response = api.patch(leases_url(intent.pk, lease.pk), {"duration_seconds": 60}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    lease.refresh_from_db()
    assert lease.holds_scope and lease.expiry_announced_at is None


def test_renew_of_an_expired_lease_is_409_when_someone_else_holds_the_scope(api, intent):
    mine = LeaseFactory(intent=intent, scope="s", expires_at=timezone.now() - timedelta(seconds=5), holds_scope=False)
    theirs = LeaseFactory(intent=intent, scope="s", agent_id="agent-other")
    response = api.patch(leases_url(intent.pk, mine.pk), {"duration_seconds": 60}, format="json")
    assert response.status_code == 409
    assert response.json()["existing_lease"]["id"] == str(theirs.pk)
    mine.refresh_from_db()
    assert mine.expires_at < timezone.now()


# --- release ----------------------------------------------------------------------------------

def test_release_sets_released_at_and_logs_once(api, intent):
    lease = acquire(api, intent.pk).json()
    for _ in range(2):
        response = api.delete(leases_url(intent.pk, lease["id"]))
        assert response.status_code == 200
        assert response.json() == {"message": "Lease released"}
    [event] = events_of(intent, "lease_released")
    assert event.actor == "agent-owner"
    assert event.payload == {"lease_id": lease["id"], "scope": "research", "agent_id": "agent-owner"}
    listed = api.get(leases_url(intent.pk)).json()["leases"][0]
    assert listed["status"] == "released" and listed["released_at"]


def test_releasing_an_expired_lease_is_allowed(api, intent):
    lease = LeaseFactory(intent=intent, expires_at=timezone.now() - timedelta(seconds=5))
    assert api.delete(leases_url(intent.pk, lease.pk)).status_code == 200
    lease.refresh_from_db()
    assert lease.released_at is not None


@pytest.mark.parametrize("who", ["other-agent", "wrong-intent", "unknown", "unknown-intent"])
def test_only_the_holder_releases_on_the_path_intent(api, intent, who):
    lease = acquire(api, intent.pk).json()
    client, intent_id, lease_id = api, intent.pk, lease["id"]
    if who == "other-agent":
        client = make_client(agent_id="agent-other")
    elif who == "wrong-intent":
        intent_id = IntentFactory().pk
    elif who == "unknown":
        lease_id = "00000000-0000-4000-8000-000000000000"
    else:
        intent_id = "nope"
    response = client.delete(leases_url(intent_id, lease_id))
    assert response.status_code == 404
    assert response.json()["detail"] == "Lease not found or not owned by you"
    assert Lease.objects.get(pk=lease["id"]).released_at is None


def test_wrong_methods_are_405(api, intent):
    lease = acquire(api, intent.pk).json()
    assert api.put(leases_url(intent.pk, lease["id"]), {}, format="json").status_code == 405
    assert api.get(leases_url(intent.pk, lease["id"])).status_code == 405
    assert api.delete(leases_url(intent.pk)).status_code == 405
