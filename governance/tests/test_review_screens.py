"""The arbitrators' review screens through Django's test client (the browser tests in
test_review_browser.py drive the same pages in chromium)."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from governance.models import AccessRequest, Approval, Escalation
from intents.models import Event, Intent

pytestmark = pytest.mark.django_db


@pytest.fixture
def arbitrator():
    user = User.objects.create_user("arb", password="pw")
    group, _ = Group.objects.get_or_create(name="arbitrators")
    group.permissions.add(Permission.objects.get(codename="review_governance"))
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def _intent(api, **body):
    return api.post("/api/v1/intents", {"title": "Launch plan", **body}, format="json").json()


def test_login_required_and_permission(db):
    anonymous = Client()
    resp = anonymous.get("/review/")
    assert resp.status_code == 302 and resp["Location"].startswith("/review/login/")
    assert anonymous.get("/review/queue.json").status_code == 302
    plain = User.objects.create_user("plain", password="pw")
    client = Client()
    client.force_login(plain)
    assert client.get("/review/").status_code == 403
    assert client.get("/review/queue.json").status_code == 403
    assert client.post("/review/bulk", {"outcome": "approve"}).status_code == 403
    # a direct permission (no group) is enough; staff status alone is not
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/review/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="review_governance"))
    client = Client()
    client.force_login(User.objects.get(pk=staff.pk))
    assert client.get("/review/").status_code == 200


def test_queue_lists_every_kind_with_filters_counts_and_json(api, arbitrator, django_assert_max_num_queries):
    intent = _intent(api)
    iid = intent["id"]
    api.post(f"/api/v1/intents/{iid}/escalations", {"reason": "Budget question", "priority": "high"}, format="json")
    api.post(f"/api/v1/intents/{iid}/approvals", {"action": "deploy", "reason": "ready"}, format="json")
    api.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": "agent-z"}, format="json")
    api.post(f"/api/v1/intents/{iid}/arbitrate", {"reason": "Two plans disagree"}, format="json")
    suspended = _intent(api, status="suspended_awaiting_input",
                        state={"_suspension": {"id": "s-1", "question": "Ship it?", "response_type": "confirm"}})
    page = arbitrator.get("/review/")
    html = page.content.decode()
    for text in ("Budget question", "deploy: ready", "agent-z requests write", "Two plans disagree", "Ship it?"):
        assert text in html
    with django_assert_max_num_queries(12):
        data = arbitrator.get("/review/queue.json").json()
    assert data["total"] == 5 and data["counts"]["escalation"] == 1
    only = arbitrator.get("/review/queue.json?kind=escalation").json()["items"]
    assert [i["summary"] for i in only] == ["Budget question"]
    assert [i["kind"] for i in arbitrator.get("/review/queue.json?priority=high").json()["items"]] == ["escalation"]
    assert arbitrator.get(f"/review/queue.json?intent={suspended['id']}").json()["total"] == 1
    assert arbitrator.get("/review/queue.json?min_age=60").json()["total"] == 0
    by_priority = arbitrator.get("/review/queue.json?sort=priority").json()["items"]
    assert by_priority[0]["priority"] == "high"


def test_detail_and_decisions_call_the_services(api, arbitrator):
    intent = _intent(api)
    iid = intent["id"]
    esc = api.post(f"/api/v1/intents/{iid}/escalations", {"reason": "Help"}, format="json").json()
    detail = arbitrator.get(f"/review/escalation/{esc['id']}/")
    html = detail.content.decode()
    assert "Launch plan" in html and "escalation_initiated" in html and "csrfmiddlewaretoken" in html
    assert arbitrator.post(f"/review/escalation/{esc['id']}/decide", {"outcome": ""}).status_code == 400
    done = arbitrator.post(f"/review/escalation/{esc['id']}/decide", {"outcome": "Approved budget", "rationale": "Within limits"})
    assert done.status_code == 302
    row = Escalation.objects.get(pk=esc["id"])
    assert (row.status, row.resolved_by, row.resolution, row.resolution_notes) == (
        "resolved", "user:arb", "Approved budget", "Within limits")
    again = arbitrator.post(f"/review/escalation/{esc['id']}/decide", {"outcome": "x"})
    assert again.status_code == 409 and "already resolved" in again.content.decode()
    # suspension respond through the screens
    suspended = _intent(api, status="suspended_awaiting_input",
                        state={"_suspension": {"id": "s-1", "response_type": "choice",
                                               "choices": [{"value": "go", "label": "Go"}, {"value": "stop", "label": "Stop"}]}})
    assert arbitrator.post(f"/review/suspension/{suspended['id']}/decide", {"outcome": "go", "rationale": "fine"}).status_code == 302
    assert Intent.objects.get(pk=suspended["id"]).status == "active"
    resumed = Event.objects.get(intent_id=suspended["id"], event_type="intent.resumed")
    assert resumed.actor == "user:arb" and resumed.payload["value"] == "go"
    # arbitration: a decision citing it
    arb = api.post(f"/api/v1/intents/{iid}/arbitrate", {"reason": "Pick one"}, format="json").json()
    assert arbitrator.post(f"/review/arbitration/{arb['id']}/decide", {"outcome": "Plan A", "rationale": "cheaper"}).status_code == 302
    decisions = api.get(f"/api/v1/intents/{iid}/decisions").json()["decisions"]
    assert decisions[0]["outcome"] == "Plan A" and decisions[0]["arbitration_id"] == arb["id"]
    assert arbitrator.get("/review/escalation/nope/").status_code == 404
    assert arbitrator.get("/review/bogus/x/").status_code == 404


def test_bulk_actions(api, arbitrator):
    iid = _intent(api)["id"]
    a1 = api.post(f"/api/v1/intents/{iid}/approvals", {"action": "a"}, format="json").json()
    a2 = api.post(f"/api/v1/intents/{iid}/approvals", {"action": "b"}, format="json").json()
    req = api.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": "agent-q"}, format="json").json()
    resp = arbitrator.post("/review/bulk", {"outcome": "deny", "rationale": "no",
                                            "items": [f"approval:{a1['id']}", f"approval:{a2['id']}", f"access_request:{req['id']}"]})
    assert resp.status_code == 302
    assert set(Approval.objects.values_list("status", flat=True)) == {"denied"}
    assert AccessRequest.objects.get(pk=req["id"]).status == "denied"
    assert arbitrator.get("/review/queue.json").json()["total"] == 0


def test_csrf_is_enforced(api):
    user = User.objects.create_user("arb2", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="review_governance"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/review/bulk", {"outcome": "approve"}).status_code == 403


def test_choice_forms_for_arbitration_options_and_confirm_suspensions(api, arbitrator):
    iid = _intent(api)["id"]
    arb = api.post(f"/api/v1/intents/{iid}/arbitrate", {"reason": "Pick", "options": [
        {"label": "Plan A", "value": "a"}, {"label": "Plan B"}]}, format="json").json()
    html = arbitrator.get(f"/review/arbitration/{arb['id']}/").content.decode()
    assert 'value="a"' in html and "Plan B" in html
    suspended = _intent(api, status="suspended_awaiting_input", state={"_suspension": {"response_type": "confirm"}})
    page = arbitrator.get(f"/review/suspension/{suspended['id']}/").content.decode()
    assert 'value="yes"' in page and 'value="no"' in page
    assert arbitrator.post(f"/review/suspension/{suspended['id']}/decide", {"outcome": "yes"}).status_code == 302
    assert Intent.objects.get(pk=suspended["id"]).status == "active"
