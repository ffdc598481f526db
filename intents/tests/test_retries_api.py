"""RFC-0010 retry policies, failure records and the fallback re-assignment (10)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from intents.access import Permission
from intents.models import Assignment, Event, FailureRecord, FallbackHandoff, Lease, RetryPolicy
from intents.services.retries import retry_fallback_apply, retry_fallback_sweep
from intents.tasks import retry_fallback_sweep_task

from .factories_leases import FailureRecordFactory, IntentFactory, LeaseFactory, RetryPolicyFactory


@pytest.fixture
def intent(db):
    return IntentFactory()


def policy_url(intent_id):
    return f"/api/v1/intents/{intent_id}/retry-policy"


def failures_url(intent_id):
    return f"/api/v1/intents/{intent_id}/failures"


# --- retry policy ----------------------------------------------------------------------------

def test_put_stores_every_field_with_defaults(api, intent):
    response = api.put(policy_url(intent.pk), {"strategy": "linear"}, format="json")
    assert response.status_code == 200, response.content
    policy = response.json()
    assert policy["strategy"] == "linear"
    assert (policy["max_retries"], policy["base_delay_ms"], policy["max_delay_ms"]) == (3, 1000, 60000)
    assert policy["jitter"] is True
    assert policy["fallback_agent_id"] is None and policy["failure_threshold"] == 3
    assert policy["created_at"] == policy["createdAt"]
    assert policy["intent_id"] == str(intent.pk)


def test_put_replaces_but_keeps_id_and_created_at(api, intent):
    first = api.put(policy_url(intent.pk), {"strategy": "fixed", "max_retries": 9, "fallback_agent_id": "agent-b",
                                            "failure_threshold": 5}, format="json").json()
    second = api.put(policy_url(intent.pk), {"strategy": "linear", "unknown": 1}, format="json").json()
    assert second["id"] == first["id"] and second["created_at"] == first["created_at"]
    assert second["max_retries"] == 3 and second["fallback_agent_id"] is None and second["failure_threshold"] == 3
    assert RetryPolicy.objects.count() == 1
    assert api.get(policy_url(intent.pk)).json() == second


@pytest.mark.parametrize(
    "body, loc",
    [
        ({}, ["body", "strategy"]),
        ({"strategy": "sometimes"}, ["body", "strategy"]),
        ({"strategy": "fixed", "max_retries": 1.5}, ["body", "max_retries"]),
        ({"strategy": "fixed", "base_delay_ms": "soon"}, ["body", "base_delay_ms"]),
        ({"strategy": "fixed", "max_delay_ms": 2**70}, ["body", "max_delay_ms"]),
        ({"strategy": "fixed", "fallback_agent_id": 7}, ["body", "fallback_agent_id"]),
        ({"strategy": "fixed", "failure_threshold": [3]}, ["body", "failure_threshold"]),
    ],
)
def test_invalid_policies_are_400(api, intent, body, loc):
    response = api.put(policy_url(intent.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_get_without_policy_or_intent_is_404_no_retry_policy_set(api, intent):
    for intent_id in (intent.pk, "nope"):
        response = api.get(policy_url(intent_id))
        assert response.status_code == 404
        assert response.json()["detail"] == "No retry policy set"


def test_put_on_unknown_intent_is_404(api, db):
    response = api.put(policy_url("nope"), {"strategy": "fixed"}, format="json")
    assert response.status_code == 404 and response.json()["detail"] == "Intent not found"


def test_policy_needs_admin_to_set_and_read_to_get(api, intent, access_recorder):
    api.put(policy_url(intent.pk), {"strategy": "fixed"}, format="json")
    api.get(policy_url(intent.pk))
    assert [p[2] for p in access_recorder.permissions] == ["admin", "read"]
    access_recorder.deny_permission = {Permission.ADMIN}
    assert api.put(policy_url(intent.pk), {"strategy": "linear"}, format="json").status_code == 403


# --- failures ----------------------------------------------------------------------------------

def test_sync_client_body_is_accepted_and_error_code_copied(api, intent):
    response = api.post(failures_url(intent.pk), {
        "agent_id": "agent-a", "attempt_number": 2, "error_code": "RATE_LIMIT", "error_message": None,
        "retry_scheduled_at": "2030-01-01T00:00:05", "metadata": {"k": 1},
    }, format="json")
    assert response.status_code == 200, response.content
    failure = response.json()
    assert failure["error_code"] == failure["error_type"] == "RATE_LIMIT"
    assert failure["attempt_number"] == 2 and failure["error_message"] is None
    assert failure["retry_scheduled_at"] == "2030-01-01T00:00:05" == failure["retryScheduledAt"]
    assert failure["resolved_at"] is None and failure["metadata"] == {"k": 1}
    assert failure["occurred_at"] == failure["created_at"] == failure["createdAt"]


def test_async_client_body_defaults_attempt_and_keeps_recoverable(api, intent):
    response = api.post(failures_url(intent.pk), {
        "error_type": "timeout", "error_message": "slow", "recoverable": False, "metadata": {},
    }, format="json")
    assert response.status_code == 200, response.content
    failure = response.json()
    assert failure["attempt_number"] == 1 and failure["agent_id"] is None
    assert failure["error_code"] == "timeout"
    assert failure["metadata"] == {"recoverable": False}


def test_failure_with_neither_code_nor_type_is_stored_with_nulls(api, intent):
    failure = api.post(failures_url(intent.pk), {}, format="json").json()
    assert failure["error_code"] is None and failure["error_type"] is None and failure["attempt_number"] == 1


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"attempt_number": "first"}, ["body", "attempt_number"]),
        ({"error_code": 5}, ["body", "error_code"]),
        ({"retry_scheduled_at": "tomorrow"}, ["body", "retry_scheduled_at"]),
        ({"metadata": "x"}, ["body", "metadata"]),
    ],
)
def test_invalid_failures_are_400(api, intent, body, loc):
    response = api.post(failures_url(intent.pk), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == loc


def test_failures_list_is_oldest_first_with_limit(api, intent):
    ids = [api.post(failures_url(intent.pk), {"attempt_number": n}, format="json").json()["id"] for n in (1, 2, 3)]
    assert [f["id"] for f in api.get(failures_url(intent.pk)).json()] == ids
    assert [f["id"] for f in api.get(failures_url(intent.pk) + "?limit=2").json()] == ids[:2]
    assert api.get(failures_url(intent.pk) + "?limit=0").status_code == 400
    assert api.get(failures_url("nope")).json() == []
    assert api.post(failures_url("nope"), {}, format="json").status_code == 404


def test_failures_list_issues_a_fixed_number_of_queries(api, intent, django_assert_max_num_queries):
    FailureRecordFactory.create_batch(20, intent=intent)
    with django_assert_max_num_queries(2):
        assert len(api.get(failures_url(intent.pk)).json()) == 20


# --- fallback re-assignment ------------------------------------------------------------------

def fail(intent, agent="agent-a", client=None):
    client = client or make_client(agent_id=agent)
    response = client.post(failures_url(intent.pk), {"agent_id": agent, "error_code": "TIMEOUT"}, format="json")
    assert response.status_code == 200


def test_threshold_reached_releases_leases_and_assigns_the_fallback_once(intent, django_capture_on_commit_callbacks):
    RetryPolicyFactory(intent=intent, fallback_agent_id="agent-b", failure_threshold=2)
    held = LeaseFactory(intent=intent, agent_id="agent-a", scope="work")
    other_intent_lease = LeaseFactory(agent_id="agent-a")
    with django_capture_on_commit_callbacks(execute=True):
        fail(intent)
    assert not Assignment.objects.filter(agent_id="agent-b").exists()
    with django_capture_on_commit_callbacks(execute=True):
        fail(intent)
    assignment = Assignment.objects.get(intent=intent, agent_id="agent-b")
    assert assignment.role == "fallback"
    held.refresh_from_db()
    other_intent_lease.refresh_from_db()
    assert held.released_at is not None and other_intent_lease.released_at is None
    [released] = Event.objects.filter(intent=intent, event_type="lease_released")
    assert released.actor == "system"
    assert released.payload == {"lease_id": str(held.pk), "scope": "work", "agent_id": "agent-a", "reason": "fallback"}
    [assigned] = Event.objects.filter(intent=intent, event_type="agent_assigned")
    assert assigned.actor == "system" and assigned.payload == {"agent_id": "agent-b", "role": "fallback"}
    handoff = FallbackHandoff.objects.get()
    assert (handoff.status, handoff.failure_count, handoff.leases_released) == ("applied", 2, 1)
    # A third failure does not hand over again.
    with django_capture_on_commit_callbacks(execute=True):
        fail(intent)
    assert Event.objects.filter(intent=intent, event_type="agent_assigned").count() == 1
    intent.refresh_from_db()
    assert intent.status == "draft"  # the status does not change (10)


def test_failures_of_the_fallback_agent_or_without_agent_do_not_trigger(intent):
    RetryPolicyFactory(intent=intent, fallback_agent_id="agent-b", failure_threshold=1)
    FailureRecordFactory(intent=intent, agent_id="agent-b")
    FailureRecordFactory(intent=intent, agent_id=None)
    assert retry_fallback_apply(intent_id=intent.pk, failing_agent_id="agent-b") is None
    assert retry_fallback_sweep() == 0
    assert not Assignment.objects.exists()


def test_without_fallback_agent_nothing_is_enqueued(intent, django_capture_on_commit_callbacks):
    RetryPolicyFactory(intent=intent, failure_threshold=1)
    with django_capture_on_commit_callbacks() as callbacks:
        fail(intent)
    assert callbacks == []


def test_the_sweep_applies_fallbacks_the_task_missed(db):
    due, not_yet = IntentFactory(), IntentFactory()
    RetryPolicyFactory(intent=due, fallback_agent_id="agent-b", failure_threshold=2)
    RetryPolicyFactory(intent=not_yet, fallback_agent_id="agent-b", failure_threshold=3)
    FailureRecordFactory.create_batch(2, intent=due, agent_id="agent-a")
    FailureRecordFactory.create_batch(2, intent=not_yet, agent_id="agent-a")
    assert retry_fallback_sweep_task() == 1
    assert retry_fallback_sweep_task() == 0
    assert Assignment.objects.filter(intent=due, agent_id="agent-b").exists()
    assert not Assignment.objects.filter(intent=not_yet).exists()


def test_a_governance_refusal_rolls_back_logs_the_violation_and_stops(db, access_recorder):
    intent = IntentFactory()
    RetryPolicyFactory(intent=intent, fallback_agent_id="agent-b", failure_threshold=1)
    FailureRecordFactory(intent=intent, agent_id="agent-a")
    lease = LeaseFactory(intent=intent, agent_id="agent-a")
    access_recorder.deny_policy = {"assign": "allowed_agents"}
    handoff = retry_fallback_apply(intent_id=intent.pk, failing_agent_id="agent-a")
    assert handoff.status == "rejected"
    lease.refresh_from_db()
    assert lease.released_at is None  # rolled back
    assert not Event.objects.filter(intent=intent, event_type__in=["lease_released", "agent_assigned"]).exists()
    [violation] = Event.objects.filter(intent=intent, event_type="governance.violation")
    assert violation.actor == "system" and violation.payload["rule"] == "allowed_agents"
    assert retry_fallback_sweep() == 0  # tried once, not again
    assert Event.objects.filter(intent=intent, event_type="governance.violation").count() == 1


def test_beat_schedule_has_the_fallback_sweep(settings):
    from openintent_project.celery import collect_beat_schedule

    entry = collect_beat_schedule()["intents-retry-fallback-sweep"]
    assert entry["task"] == "intents.tasks.retry_fallback_sweep_task"
    assert entry["schedule"] == settings.OPENINTENT_RETRY_FALLBACK_SWEEP_SECONDS


def test_failure_records_are_append_only_per_intent(api, intent):
    fail(intent)
    assert FailureRecord.objects.filter(intent=intent).count() == 1
    assert Lease.objects.count() == 0
    assert timezone.now() - FailureRecord.objects.get().occurred_at < timedelta(seconds=5)


def test_the_task_is_enqueued_only_once_the_threshold_is_reached(intent, django_capture_on_commit_callbacks):
    RetryPolicyFactory(intent=intent, fallback_agent_id="agent-b", failure_threshold=2)
    with django_capture_on_commit_callbacks() as first:
        fail(intent)
    with django_capture_on_commit_callbacks() as second:
        fail(intent)
    assert (len(first), len(second)) == (0, 1)


@pytest.mark.parametrize(
    "method, path, level",
    [
        ("get", "failures", "read"),
        ("post", "failures", "write"),
        ("get", "costs", "read"),
        ("get", "leases", "read"),
    ],
)
def test_reads_and_writes_check_the_acl(api, intent, access_recorder, method, path, level):
    url = f"/api/v1/intents/{intent.pk}/{path}"
    response = getattr(api, method)(url, {}, format="json") if method == "post" else api.get(url)
    assert response.status_code == 200
    assert [p[2] for p in access_recorder.permissions] == [level]
    access_recorder.deny_permission = {Permission.READ if level == "read" else Permission.WRITE}
    response = getattr(api, method)(url, {}, format="json") if method == "post" else api.get(url)
    assert response.status_code == 403
