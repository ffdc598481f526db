"""Admin pages for leases, costs, retry policies, failures and fallback hand-offs."""

import pytest
from django.contrib.auth import get_user_model

from intents.models import Event

from .factories_leases import CostRecordFactory, FailureRecordFactory, LeaseFactory, RetryPolicyFactory


@pytest.fixture
def admin_client_logged_in(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["lease", "costrecord", "retrypolicy", "failurerecord", "fallbackhandoff"])
def test_changelists_render(admin_client_logged_in, model):
    LeaseFactory()
    CostRecordFactory(amount=10, unit="tokens")
    RetryPolicyFactory()
    FailureRecordFactory()
    response = admin_client_logged_in.get(f"/admin/intents/{model}/")
    assert response.status_code == 200


def test_lease_detail_and_status_filter(admin_client_logged_in):
    lease = LeaseFactory()
    assert admin_client_logged_in.get(f"/admin/intents/lease/{lease.pk}/change/").status_code == 200
    response = admin_client_logged_in.get("/admin/intents/lease/?status=active")
    assert lease.scope in response.content.decode()
    assert lease.scope not in admin_client_logged_in.get("/admin/intents/lease/?status=released").content.decode()


def test_release_action_goes_through_the_service(admin_client_logged_in):
    lease = LeaseFactory()
    response = admin_client_logged_in.post(
        "/admin/intents/lease/", {"action": "release_leases", "_selected_action": [str(lease.pk)]}, follow=True
    )
    assert response.status_code == 200
    lease.refresh_from_db()
    assert lease.released_at is not None and lease.release_reason == "operator"
    [event] = Event.objects.filter(event_type="lease_released")
    assert event.actor == "user:root" and event.payload["reason"] == "operator"


def test_cost_changelist_shows_totals_per_unit(admin_client_logged_in):
    CostRecordFactory(amount=10, unit="tokens")
    CostRecordFactory(amount=5, unit="tokens")
    CostRecordFactory(amount=2.5, unit="cents")
    content = admin_client_logged_in.get("/admin/intents/costrecord/").content.decode()
    assert "15 tokens (2 records)" in content and "2.5 cents (1 records)" in content


def test_records_cannot_be_added_or_deleted(admin_client_logged_in):
    cost = CostRecordFactory()
    assert admin_client_logged_in.get("/admin/intents/costrecord/add/").status_code == 403
    assert admin_client_logged_in.get(f"/admin/intents/costrecord/{cost.pk}/delete/").status_code == 403
    assert admin_client_logged_in.get("/admin/intents/lease/add/").status_code == 403
