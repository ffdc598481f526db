"""Admin pages for attachments and portfolios: every change goes through the services."""

import base64
import hashlib

import pytest

from intents.models import Attachment, Intent, Portfolio, PortfolioMembership
from intents.services import attachments as attachment_service
from intents.services import portfolios as portfolio_service
from intents.services.core import intent_create
from intents.tests.conftest import stored_files


@pytest.fixture
def intent(owner):
    return intent_create(principal=owner, title="Admin target")


def test_attachment_list_download_and_delete(admin_client, owner, intent, media_root, django_capture_on_commit_callbacks):
    content = attachment_service.content_from_base64(base64.b64encode(b"admin bytes").decode())
    stored = attachment_service.attachment_add(
        principal=owner, intent_id=intent.pk, filename="a.txt", mime_type="text/plain", content=content
    )
    meta_only = attachment_service.attachment_add(
        principal=owner, intent_id=intent.pk, filename="b.pdf", mime_type="application/pdf", size=1, storage_url="s3://b"
    )
    page = admin_client.get("/admin/intents/attachment/")
    assert page.status_code == 200
    download_url = f"/admin/intents/attachment/{stored.pk}/download/"
    assert download_url in page.content.decode()

    response = admin_client.get(download_url)
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == stored.sha256
    assert admin_client.get(f"/admin/intents/attachment/{meta_only.pk}/download/").status_code == 404
    assert admin_client.get(f"/admin/intents/attachment/{stored.pk}/change/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/intents/attachment/",
            {"action": "delete_selected", "_selected_action": [str(stored.pk), str(meta_only.pk)], "post": "yes"},
        )
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_portfolio_pages_show_progress_and_memberships(admin_client, owner, intent, django_assert_max_num_queries):
    portfolio = portfolio_service.portfolio_create(principal=owner, name="Launch", created_by="agent-owner")
    portfolio_service.portfolio_add_intent(principal=owner, portfolio_id=portfolio.pk, intent_id=intent.pk)
    for i in range(3):
        portfolio_service.portfolio_create(principal=owner, name=f"p{i}", created_by="x")
    page = admin_client.get("/admin/intents/portfolio/")
    assert page.status_code == 200 and "0/1 completed (0%)" in page.content.decode()
    change = admin_client.get(f"/admin/intents/portfolio/{portfolio.pk}/change/")
    assert change.status_code == 200
    body = change.content.decode()
    assert "completion_percentage" in body and str(intent.pk) in body


def test_portfolio_created_and_members_added_through_services(admin_client, owner, intent):
    response = admin_client.post(
        "/admin/intents/portfolio/add/",
        {
            "name": "From admin", "description": "", "created_by": "ops",
            "governance_policy": '{"shared_constraints": {"budget": 10}}', "metadata": "{}",
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-intent": str(intent.pk), "memberships-0-role": "primary", "memberships-0-priority": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    portfolio = Portfolio.objects.get(name="From admin")
    membership = PortfolioMembership.objects.get(portfolio=portfolio)
    assert (membership.intent_id, membership.role, membership.priority) == (intent.pk, "primary", 3)
    # Shared constraints took effect, which only the service does.
    assert Intent.objects.get(pk=intent.pk).constraints == {"budget": 10}


def test_status_action_reports_policy_refusal(admin_client, owner, intent):
    portfolio = portfolio_service.portfolio_create(
        principal=owner, name="Strict", created_by="x", governance_policy={"require_all_completed": True}
    )
    portfolio_service.portfolio_add_intent(principal=owner, portfolio_id=portfolio.pk, intent_id=intent.pk)
    response = admin_client.post(
        "/admin/intents/portfolio/", {"action": "mark_completed", "_selected_action": [str(portfolio.pk)]}, follow=True
    )
    assert "requires all member intents completed" in response.content.decode()
    assert Portfolio.objects.get(pk=portfolio.pk).status == "active"
    admin_client.post("/admin/intents/portfolio/", {"action": "mark_abandoned", "_selected_action": [str(portfolio.pk)]})
    assert Portfolio.objects.get(pk=portfolio.pk).status == "abandoned"


def test_inline_change_and_removal_go_through_services(admin_client, owner, intent):
    portfolio = portfolio_service.portfolio_create(
        principal=owner, name="Edit", created_by="x", governance_policy={"shared_constraints": {"budget": 1}}
    )
    membership = portfolio_service.portfolio_add_intent(principal=owner, portfolio_id=portfolio.pk, intent_id=intent.pk)
    form = {
        "status": "active",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk), "memberships-0-portfolio": str(portfolio.pk),
        "memberships-0-intent": str(intent.pk), "memberships-0-role": "dependency", "memberships-0-priority": "9",
    }
    response = admin_client.post(f"/admin/intents/portfolio/{portfolio.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    membership.refresh_from_db()
    assert (membership.role, membership.priority) == ("dependency", 9)
    response = admin_client.post(f"/admin/intents/portfolio/{portfolio.pk}/change/", {**form, "memberships-0-DELETE": "on"})
    assert response.status_code == 302
    assert not PortfolioMembership.objects.exists()
    assert Intent.objects.get(pk=intent.pk).constraints == {}
