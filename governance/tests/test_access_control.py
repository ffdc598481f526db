"""RFC-0011 enforcement (11 §2-§4) beyond what the reference tests cover."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from governance import services
from governance.models import AclEntry
from intents.models import Event

pytestmark = pytest.mark.django_db


def _intent(api, **body):
    resp = api.post("/api/v1/intents", {"title": "T", **body}, format="json")
    assert resp.status_code == 200, resp.content
    return resp.json()


def _events(intent_id, event_type):
    return list(Event.objects.filter(intent_id=intent_id, event_type=event_type).order_by("sequence"))


def test_closed_acl_denies_reads_and_writes_with_the_denial_body(api):
    intent = _intent(api)
    assert api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json").status_code == 200
    stranger = make_client(agent_id="agent-stranger")
    resp = stranger.get(f"/api/v1/intents/{intent['id']}")
    assert resp.status_code == 403
    assert resp.json()["detail"] == {
        "error": "forbidden",
        "message": resp.json()["detail"]["message"],
        "required_permission": "read",
        "current_permission": None,
        "access_request_url": f"/api/v1/intents/{intent['id']}/access-requests",
    }
    for path in ("events", "agents", "children", "graph", "acl", "governance", "decisions", "coordinators"):
        assert stranger.get(f"/api/v1/intents/{intent['id']}/{path}").status_code == 403, path
    write = stranger.post(f"/api/v1/intents/{intent['id']}/state", {"patches": [{"op": "set", "path": "/a", "value": 1}]},
                          format="json", HTTP_IF_MATCH="2")
    assert write.status_code == 403 and write.json()["detail"]["required_permission"] == "write"
    # unknown intent: 404 first, and an event list of a missing intent stays 200 []
    assert stranger.get("/api/v1/intents/00000000-0000-0000-0000-000000000000").status_code == 404
    assert stranger.get("/api/v1/intents/nope/events").json() == []
    # the creator keeps admin; the list leaves the intent out for the stranger
    assert api.get(f"/api/v1/intents/{intent['id']}").status_code == 200
    ids = [i["id"] for i in stranger.get("/api/v1/intents").json()["intents"]]
    assert intent["id"] not in ids
    assert intent["id"] in [i["id"] for i in api.get("/api/v1/intents").json()["intents"]]


def test_open_acl_gives_read_entries_raise_it_and_expired_entries_grant_nothing(api):
    intent = _intent(api)
    iid = intent["id"]
    api.post(f"/api/v1/intents/{iid}/acl/entries", {"principal_id": "agent-w", "permission": "write"}, format="json")
    reader = make_client(agent_id="agent-r")
    writer = make_client(agent_id="agent-w")
    assert reader.get(f"/api/v1/intents/{iid}").status_code == 200
    assert reader.post(f"/api/v1/intents/{iid}/events", {"event_type": "comment", "actor": "r"}, format="json").status_code == 403
    assert writer.post(f"/api/v1/intents/{iid}/events", {"event_type": "comment", "actor": "w"}, format="json").status_code == 200
    # write is not admin
    resp = writer.post(f"/api/v1/intents/{iid}/status", {"status": "active"}, format="json", HTTP_IF_MATCH="1")
    assert resp.status_code == 403 and resp.json()["detail"]["current_permission"] == "write"
    # an expired entry grants nothing, is hidden from GET /acl and is removed by the sweep
    entry = AclEntry.objects.get(intent_id=iid, principal_id="agent-w")
    AclEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert writer.post(f"/api/v1/intents/{iid}/events", {"event_type": "comment", "actor": "w"}, format="json").status_code == 403
    assert api.get(f"/api/v1/intents/{iid}/acl").json()["entries"] == []
    assert services.acl_expire_due() == 1
    assert services.acl_expire_due() == 0  # idempotent
    [expired] = _events(iid, "access_expired")
    assert expired.actor == "system" and expired.payload["principal_id"] == "agent-w"
    assert api.get(f"/api/v1/intents/{iid}/acl").json()["default_policy"] == "open"  # the ACL stays


def test_operator_bypasses_with_an_audit_event(api):
    intent = _intent(api)
    api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    operator = make_client(api_key="operator-key", agent_id="ops")
    assert operator.get(f"/api/v1/intents/{intent['id']}").status_code == 200
    audit = [e for e in _events(intent["id"], "access_granted") if e.payload.get("action") == "operator_override"]
    assert audit and audit[0].actor == "ops" and audit[0].payload["permission"] == "read"


def test_access_requests_work_without_access_and_are_filtered(api):
    intent = _intent(api)
    iid = intent["id"]
    api.put(f"/api/v1/intents/{iid}/acl", {"default_policy": "closed"}, format="json")
    asker = make_client(agent_id="agent-asker")
    resp = asker.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": "agent-asker"}, format="json")
    assert resp.status_code == 200 and resp.json()["requested_permission"] == "write"
    other = make_client(agent_id="agent-other")
    other.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": "agent-other", "requested_permission": "read"}, format="json")
    assert [r["principal_id"] for r in asker.get(f"/api/v1/intents/{iid}/access-requests").json()["access_requests"]] == ["agent-asker"]
    assert len(api.get(f"/api/v1/intents/{iid}/access-requests").json()["access_requests"]) == 2
    # deciding needs admin
    rid = resp.json()["id"]
    assert asker.post(f"/api/v1/intents/{iid}/access-requests/{rid}/approve", {"decided_by": "me"}, format="json").status_code == 403
    ok = api.post(f"/api/v1/intents/{iid}/access-requests/{rid}/approve", {"decided_by": "boss", "permission": "read"}, format="json")
    assert ok.status_code == 200
    assert asker.get(f"/api/v1/intents/{iid}").status_code == 200
    assert asker.post(f"/api/v1/intents/{iid}/events", {"event_type": "comment", "actor": "a"}, format="json").status_code == 403
    [entry] = api.get(f"/api/v1/intents/{iid}/acl").json()["entries"]
    assert entry["reason"] == "Approved access request:" and entry["granted_by"] == "boss"
    # a decided request is gone for a second decision
    assert api.post(f"/api/v1/intents/{iid}/access-requests/{rid}/deny", {"decided_by": "boss"}, format="json").status_code == 404


@pytest.mark.parametrize("body", [
    {"default_policy": "bogus"},
    {"entries": [{"permission": "read"}]},
    {"entries": [{"principal_id": "a", "permission": "owner"}]},
    {"entries": [{"principal_id": "a", "principal_type": "robot"}]},
    {"entries": [{"principal_id": "a", "expires_at": "tomorrow"}]},
])
def test_acl_put_validation(api, body):
    intent = _intent(api)
    resp = api.put(f"/api/v1/intents/{intent['id']}/acl", body, format="json")
    assert resp.status_code == 400, resp.content


def test_revoke_order_and_unknown_intent(api):
    assert api.delete("/api/v1/intents/nope/acl/entries/x").json()["detail"] == "Intent not found"
    intent = _intent(api)
    assert api.delete(f"/api/v1/intents/{intent['id']}/acl/entries/x").json()["detail"] == "ACL entry not found"
    assert api.post("/api/v1/intents/nope/access-requests", {"principal_id": "a"}, format="json").status_code == 404


def test_intent_list_query_count_is_bounded(api, django_assert_max_num_queries):
    for _ in range(5):
        _intent(api)
    client = make_client(agent_id="agent-x")
    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/intents").status_code == 200
