"""Operator admin pages for governance rows; actions go through the services."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from governance.models import AccessRequest, Approval, Escalation
from intents.models import Event, Intent

pytestmark = pytest.mark.django_db

PAGES = ["accesscontrol", "aclentry", "accessrequest", "arbitration", "decision", "coordinatorlease",
         "decisionrecord", "escalation", "approval", "governedintent"]


@pytest.fixture
def admin_client():
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_changelists_render_and_actions_use_the_services(api, admin_client):
    iid = api.post("/api/v1/intents", {"title": "Admin", "governance_policy": {"max_cost": 5}}, format="json").json()["id"]
    api.post(f"/api/v1/intents/{iid}/acl/entries", {"principal_id": "agent-x", "permission": "write"}, format="json")
    api.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": "agent-y"}, format="json")
    api.post(f"/api/v1/intents/{iid}/escalations", {"reason": "look"}, format="json")
    api.post(f"/api/v1/intents/{iid}/approvals", {"action": "complete"}, format="json")
    api.post(f"/api/v1/intents/{iid}/arbitrate", {"reason": "pick"}, format="json")
    api.post("/api/v1/coordinators", {"agent_id": "c1", "intent_id": iid}, format="json")
    for page in PAGES:
        assert admin_client.get(f"/admin/governance/{page}/").status_code == 200, page
    post = lambda model, action, ids: admin_client.post(  # noqa: E731
        f"/admin/governance/{model}/", {"action": action, "_selected_action": [str(i) for i in ids]})
    assert post("approval", "approve", Approval.objects.values_list("pk", flat=True)).status_code == 302
    assert Approval.objects.get().status == "approved"
    assert post("escalation", "resolve", Escalation.objects.values_list("pk", flat=True)).status_code == 302
    assert Escalation.objects.get().resolved_by == "user:root"
    assert post("accessrequest", "deny", AccessRequest.objects.values_list("pk", flat=True)).status_code == 302
    assert AccessRequest.objects.get().status == "denied"
    assert post("governedintent", "remove_policy", [iid]).status_code == 302
    assert Intent.objects.get(pk=iid).governance_policy is None
    assert Event.objects.filter(intent_id=iid, event_type="governance.policy_removed", actor="user:root").exists()
