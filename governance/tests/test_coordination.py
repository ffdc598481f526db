"""RFC-0013 and RFC-0003 governance behaviour beyond the reference tests (13, 04)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client
from governance import services
from governance.models import CoordinatorLease, Escalation
from governance.services.policy import enforce
from governance.tests.factories import IntentFactory
from intents.models import Event, Intent
from openintent_project.api.principal import Principal
from openintent_project.errors import GovernanceViolation

pytestmark = pytest.mark.django_db


def _intent(api, **body):
    resp = api.post("/api/v1/intents", {"title": "T", **body}, format="json")
    assert resp.status_code == 200, resp.content
    return resp.json()


def _types(intent_id):
    return list(Event.objects.filter(intent_id=intent_id).order_by("sequence").values_list("event_type", flat=True))


# --- governance policy ------------------------------------------------------------------------

@pytest.mark.parametrize("policy", [
    {"quorum_threshold": True}, {"allowed_agents": "a"}, {"allowed_agents": [1]}, {"max_cost": -1},
    {"max_cost": "5"}, {"require_status_reason": "yes"},
])
def test_policy_value_checks_are_400(api, policy):
    intent = _intent(api)
    resp = api.put(f"/api/v1/intents/{intent['id']}/governance", policy, format="json", HTTP_IF_MATCH="1")
    assert resp.status_code == 400 and isinstance(resp.json()["detail"], list)


def test_policy_put_order_and_remove(api):
    intent = _intent(api)
    iid = intent["id"]
    assert api.put(f"/api/v1/intents/{iid}/governance", {}, format="json").json()["detail"] == "If-Match header required"
    assert api.put("/api/v1/intents/nope/governance", {}, format="json", HTTP_IF_MATCH="1").status_code == 404
    assert api.put(f"/api/v1/intents/{iid}/governance", {"completion_mode": "x"}, format="json", HTTP_IF_MATCH="9").status_code == 400
    assert api.put(f"/api/v1/intents/{iid}/governance", {"x": 1}, format="json", HTTP_IF_MATCH="9").status_code == 409
    set_ = api.put(f"/api/v1/intents/{iid}/governance", {"write_scope": "assigned_only"}, format="json", HTTP_IF_MATCH="1")
    assert set_.status_code == 200 and set_.json()["version"] == 2
    assert api.delete(f"/api/v1/intents/{iid}/governance").status_code == 400
    removed = api.delete(f"/api/v1/intents/{iid}/governance", HTTP_IF_MATCH="2")
    assert removed.status_code == 200 and removed.json()["governance_policy"] is None and removed.json()["version"] == 3
    assert _types(iid)[-2:] == ["governance.policy_set", "governance.policy_removed"]


def test_write_scope_uses_the_agent_header_and_logs_a_surviving_violation(api):
    intent = _intent(api, governance_policy={"write_scope": "assigned_only"})
    iid = intent["id"]
    blocked = api.post(f"/api/v1/intents/{iid}/state", {"patches": [{"op": "set", "path": "/a", "value": 1}]},
                       format="json", HTTP_IF_MATCH="1")
    assert blocked.status_code == 403 and blocked.json()["detail"]["rule"] == "write_scope"
    assert _types(iid)[-1] == "governance.violation"
    api.post(f"/api/v1/intents/{iid}/agents", {"agent_id": "agent-owner"}, format="json")
    ok = api.post(f"/api/v1/intents/{iid}/state", {"patches": [{"op": "set", "path": "/a", "value": 1}]},
                  format="json", HTTP_IF_MATCH="1")
    assert ok.status_code == 200


def test_require_status_reason_logs_no_event_and_allowed_agents_on_assign(api):
    intent = _intent(api, governance_policy={"require_status_reason": True, "allowed_agents": ["agent-owner"]})
    iid = intent["id"]
    before = len(_types(iid))
    resp = api.post(f"/api/v1/intents/{iid}/status", {"status": "active"}, format="json", HTTP_IF_MATCH="1")
    assert resp.status_code == 403 and resp.json()["detail"]["rule"] == "require_status_reason"
    assert len(_types(iid)) == before
    assert api.post(f"/api/v1/intents/{iid}/status", {"status": "active", "reason": "go"}, format="json", HTTP_IF_MATCH="1").status_code == 200
    assign = api.post(f"/api/v1/intents/{iid}/agents", {"agent_id": "agent-z"}, format="json")
    assert assign.status_code == 403 and assign.json()["detail"]["rule"] == "allowed_agents"


def test_quorum_and_output_check(api):
    intent = _intent(api, governance_policy={"completion_mode": "quorum", "quorum_threshold": 1.0},
                     state={"_io_outputs": {"answer": "string"}})
    iid = intent["id"]
    zero = api.post(f"/api/v1/intents/{iid}/status", {"status": "completed"}, format="json", HTTP_IF_MATCH="1")
    assert zero.status_code == 403 and zero.json()["detail"]["mode"] == "quorum"
    assert "governance.violation" not in _types(iid)  # zero agents: no event
    for agent in ("a1", "a2"):
        api.post(f"/api/v1/intents/{iid}/agents", {"agent_id": agent}, format="json")
    approval = api.post(f"/api/v1/intents/{iid}/approvals", {"action": "complete"}, format="json").json()
    api.post(f"/api/v1/intents/{iid}/approvals/{approval['id']}/approve")
    short = api.post(f"/api/v1/intents/{iid}/status", {"status": "completed"}, format="json", HTTP_IF_MATCH="1")
    assert short.status_code == 403 and "1 of 2" in short.json()["detail"]["message"]
    second = api.post(f"/api/v1/intents/{iid}/approvals", {"action": "complete"}, format="json").json()
    api.post(f"/api/v1/intents/{iid}/approvals/{second['id']}/approve")
    # gate open; RFC-0024 output check: 422 and a surviving violation event
    out = api.post(f"/api/v1/intents/{iid}/status", {"status": "completed"}, format="json", HTTP_IF_MATCH="1")
    assert out.status_code == 422 and out.json()["detail"]["error"] == "MissingOutputError"
    last = Event.objects.filter(intent_id=iid).order_by("-sequence").first()
    assert last.event_type == "governance.violation" and last.payload["rule"] == "rfc0024_io_outputs"
    version = Intent.objects.get(pk=iid).version
    api.post(f"/api/v1/intents/{iid}/state", {"patches": [{"op": "set", "path": "/answer", "value": 42}]}, format="json", HTTP_IF_MATCH=str(version))
    mismatch = api.post(f"/api/v1/intents/{iid}/status", {"status": "completed"}, format="json", HTTP_IF_MATCH=str(version + 1))
    assert mismatch.status_code == 422 and mismatch.json()["detail"]["error"] == "OutputTypeMismatchError"


def test_max_cost_uses_current_total():
    intent = IntentFactory(created_by="a", governance_policy={"max_cost": 50})
    p = Principal(id="a", api_key="k")
    enforce(p, intent, "cost", amount=20, unit="usd", current_total=30)
    with pytest.raises(GovernanceViolation) as exc:
        enforce(p, intent, "cost", amount=20.5, unit="usd", current_total=30)
    assert exc.value.detail["rule"] == "max_cost" and exc.value.violation["rule"] == "max_cost"


# --- escalations, approvals, decisions --------------------------------------------------------

def test_escalation_lifecycle(api):
    intent = _intent(api)
    iid = intent["id"]
    esc = api.post(f"/api/v1/intents/{iid}/escalations", {"reason": "help"}, format="json").json()
    assert esc["escalated_by"] == "agent-owner" and "resolved_by" not in esc
    listed = api.get(f"/api/v1/escalations?intent_id={iid}&status=pending").json()["escalations"]
    assert [e["id"] for e in listed] == [esc["id"]]
    done = api.post(f"/api/v1/escalations/{esc['id']}/resolve", {"resolution": "ok", "notes": None}, format="json")
    assert done.status_code == 200 and done.json()["resolved_by"] == "agent-owner"
    again = api.post(f"/api/v1/escalations/{esc['id']}/resolve", {"resolution": "x"}, format="json")
    assert again.status_code == 409 and again.json()["detail"] == "Escalation is already resolved"
    assert api.post("/api/v1/escalations/nope/resolve", {"resolution": "x"}, format="json").status_code == 404
    # closed ACL: strangers neither see nor resolve
    api.put(f"/api/v1/intents/{iid}/acl", {"default_policy": "closed"}, format="json")
    stranger = make_client(agent_id="agent-stranger")
    second = api.post(f"/api/v1/intents/{iid}/escalations", {"reason": "more"}, format="json").json()
    assert iid not in {e["intent_id"] for e in stranger.get("/api/v1/escalations").json()["escalations"]}
    assert second["id"] in {e["id"] for e in api.get("/api/v1/escalations").json()["escalations"]}
    denied = stranger.post(f"/api/v1/escalations/{second['id']}/resolve", {"resolution": "x"}, format="json")
    assert denied.status_code == 403 and denied.json()["detail"]["required_permission"] == "admin"


def test_arbitration_and_decisions_shapes(api):
    intent = _intent(api)
    iid = intent["id"]
    arb = api.post(f"/api/v1/intents/{iid}/arbitrate", {"reason": "conflict", "context": {"a": 1}}, format="json").json()
    assert arb["requester_id"] == "agent-owner" and arb["status"] == "pending" and arb["message"] == "Arbitration requested"
    dec = api.post(f"/api/v1/intents/{iid}/decisions", {"decision_type": "arbitration", "outcome": {"pick": "A"},
                                                      "reasoning": "because", "arbitration_id": arb["id"]}, format="json").json()
    assert dec["decision_maker_id"] == "agent-owner" and dec["reasoning"] == "because" and dec["outcome"] == {"pick": "A"}
    rec = api.post("/api/v1/decisions", {"coordinator_id": "c1", "intent_id": iid, "decision_type": "plan_created",
                                         "summary": "s", "rationale": "r"}, format="json")
    assert rec.status_code == 200
    assert api.post("/api/v1/decisions", {"coordinator_id": "c1", "intent_id": iid, "decision_type": "nope",
                                          "summary": "s", "rationale": "r"}, format="json").status_code == 400
    assert api.post("/api/v1/decisions", {"coordinator_id": "c1", "intent_id": "nope", "decision_type": "plan_created",
                                          "summary": "s", "rationale": "r"}, format="json").status_code == 404
    decisions = api.get(f"/api/v1/intents/{iid}/decisions").json()["decisions"]
    assert {d["source"] for d in decisions} == {"intent", "coordinator"}
    assert api.get(f"/api/v1/intents/{iid}/decisions?limit=0").status_code == 400
    assert [r["id"] for r in api.get(f"/api/v1/intents/{iid}/coordinator-decisions").json()] == [rec.json()["id"]]
    arbitrations = api.get(f"/api/v1/intents/{iid}/arbitration").json()
    assert arbitrations[0]["id"] == arb["id"] and arbitrations[0]["status"] == "decided"
    assert "coordinator.decision" in _types(iid) and "decision_recorded" in _types(iid)


# --- coordinator leases ----------------------------------------------------------------------

def test_coordinator_lease_exclusive_heartbeat_and_failover(api):
    intent = _intent(api)
    iid = intent["id"]
    lease = api.post("/api/v1/coordinators", {"agent_id": "coord-1", "intent_id": iid, "heartbeat_interval_seconds": 10,
                                             "supervisor_id": "human-1", "metadata": {"failover_pool": ["coord-2"]}},
                     format="json").json()
    assert lease["status"] == "active" and lease["metadata"] == lease["lease_metadata"]
    clash = api.post("/api/v1/coordinators", {"agent_id": "coord-9", "intent_id": iid}, format="json")
    assert clash.status_code == 409 and "lease" in clash.json()["detail"]
    assert api.post("/api/v1/coordinators", {"agent_id": "c", "intent_id": "nope"}, format="json").status_code == 404
    assert api.post("/api/v1/coordinators", {"agent_id": "c", "coordinator_type": "robot"}, format="json").status_code == 400
    # heartbeat: only the coordinator itself (or an operator)
    assert make_client(agent_id="someone").post(f"/api/v1/coordinators/{lease['id']}/heartbeat").status_code == 403
    beat = make_client(agent_id="coord-1").post(f"/api/v1/coordinators/{lease['id']}/heartbeat")
    assert beat.status_code == 200 and beat.json()["status"] == "ok"
    # silence: unresponsive after 2 intervals, failed over after 5
    CoordinatorLease.objects.filter(pk=lease["id"]).update(last_heartbeat=timezone.now() - timedelta(seconds=25))
    assert services.coordinator_sweep() == 1
    assert CoordinatorLease.objects.get(pk=lease["id"]).status == "unresponsive"
    assert services.coordinator_sweep() == 0
    CoordinatorLease.objects.filter(pk=lease["id"]).update(last_heartbeat=timezone.now() - timedelta(seconds=60))
    assert services.coordinator_sweep() == 1
    old = CoordinatorLease.objects.get(pk=lease["id"])
    assert old.status == "failed_over" and old.version == 3
    new = CoordinatorLease.objects.get(intent_id=iid, status="active")
    assert new.agent_id == "coord-2" and new.supervisor_id == "human-1"
    failed = Event.objects.get(intent_id=iid, event_type="coordinator.failed_over")
    assert failed.payload == {"old_coordinator_id": "coord-1", "new_coordinator_id": "coord-2", "state_transferred": True}
    esc = Escalation.objects.get(intent_id=iid)
    assert esc.escalated_by == "system" and esc.priority == "high" and esc.context["lease_id"] == lease["id"]
    assert make_client(agent_id="coord-1").post(f"/api/v1/coordinators/{lease['id']}/heartbeat").status_code == 410
    # a dead agent's leases fail over at once (16 calls this)
    assert services.coordinator_failover_for_agent(agent_id="coord-2") == 1
    assert services.coordinator_failover_for_agent(agent_id="coord-2") == 0
    listed = api.get(f"/api/v1/intents/{iid}/coordinators").json()
    assert {c["status"] for c in listed} == {"failed_over"}
    assert api.get("/api/v1/intents/00000000-0000-0000-0000-000000000000/coordinators").json() == []


def test_unresponsive_lease_resumes_on_heartbeat(api):
    intent = _intent(api)
    lease = api.post("/api/v1/coordinators", {"agent_id": "agent-owner", "intent_id": intent["id"],
                                             "heartbeat_interval_seconds": 5}, format="json").json()
    CoordinatorLease.objects.filter(pk=lease["id"]).update(granted_at=timezone.now() - timedelta(seconds=11))
    services.coordinator_sweep()
    assert api.post(f"/api/v1/coordinators/{lease['id']}/heartbeat").status_code == 200
    fresh = api.get(f"/api/v1/coordinators/{lease['id']}").json()
    assert fresh["status"] == "active" and fresh["version"] == 3 and fresh["last_heartbeat"]
    assert "coordinator.resumed" in _types(intent["id"])
    # same agent again: old lease completed, new one granted
    again = api.post("/api/v1/coordinators", {"agent_id": "agent-owner", "intent_id": intent["id"]}, format="json")
    assert again.status_code == 200 and api.get(f"/api/v1/coordinators/{lease['id']}").json()["status"] == "completed"


def test_policy_given_at_creation_is_validated(api):
    resp = api.post("/api/v1/intents", {"title": "T", "governance_policy": {"completion_mode": "vote"}}, format="json")
    assert resp.status_code == 400
    assert resp.json()["detail"][0]["loc"] == ["body", "governance_policy", "completion_mode"]
    assert not Intent.objects.exists()


@pytest.mark.parametrize("guardrails", [{"max_budget_usd": -1}, {"on_exceed": "explode"}, {"max_tasks_per_plan": 2.5},
                                        {"requires_plan_review": "yes"}, {"allowed_capabilities": "nlp"}])
def test_guardrail_values_are_checked(api, guardrails):
    intent = _intent(api)
    resp = api.post("/api/v1/coordinators", {"agent_id": "c", "intent_id": intent["id"], "guardrails": guardrails}, format="json")
    assert resp.status_code == 400
    ok = api.post("/api/v1/coordinators", {"agent_id": "c", "intent_id": intent["id"],
                                          "guardrails": {"max_budget_usd": 10, "on_exceed": "pause"}}, format="json")
    assert ok.status_code == 200 and ok.json()["guardrails"]["on_exceed"] == "pause"


def test_list_endpoints_have_bounded_queries(api, django_assert_max_num_queries):
    iid = _intent(api)["id"]
    for n in range(4):
        api.post(f"/api/v1/intents/{iid}/escalations", {"reason": f"r{n}"}, format="json")
        api.post(f"/api/v1/intents/{iid}/access-requests", {"principal_id": f"a{n}"}, format="json")
        api.post(f"/api/v1/intents/{iid}/decisions", {"decision_type": "t", "outcome": "o"}, format="json")
        api.post("/api/v1/decisions", {"coordinator_id": "c", "intent_id": iid, "decision_type": "plan_created",
                                       "summary": "s", "rationale": "r"}, format="json")
    stranger = make_client(agent_id="agent-stranger")
    for client, path in ((stranger, "/api/v1/escalations"), (api, f"/api/v1/intents/{iid}/access-requests"),
                         (api, f"/api/v1/intents/{iid}/decisions"), (api, f"/api/v1/intents/{iid}/coordinator-decisions"),
                         (api, f"/api/v1/intents/{iid}/coordinators"), (api, f"/api/v1/intents/{iid}/arbitration")):
        with django_assert_max_num_queries(6):
            assert client.get(path).status_code == 200, path


def test_stalled_coordinator_is_flagged_once_per_stall(api):
    iid = _intent(api)["id"]
    lease = api.post("/api/v1/coordinators", {"agent_id": "agent-owner", "intent_id": iid,
                                             "guardrails": {"require_progress_every_minutes": 5}}, format="json").json()
    assert services.coordinator_stall_sweep() == 0
    later = timezone.now() + timedelta(minutes=6)
    assert services.coordinator_stall_sweep(now=later) == 1
    assert services.coordinator_stall_sweep(now=later) == 0
    stalled = Event.objects.get(intent_id=iid, event_type="coordinator.stalled")
    assert stalled.payload["lease_id"] == lease["id"] and stalled.payload["minutes"] == 5
    assert Escalation.objects.filter(intent_id=iid, escalated_by="system").count() == 1
    # new progress, then a new stall: flagged again
    api.post(f"/api/v1/intents/{iid}/events", {"event_type": "comment", "actor": "agent-owner"}, format="json")
    assert services.coordinator_stall_sweep(now=later + timedelta(minutes=6)) == 1


def test_rfc0024_claim_check_on_lease_action():
    from governance.services.policy import OutputContractViolation

    upstream = IntentFactory(title="Research", status="completed", state={"summary": "x"})
    intent = IntentFactory(title="Write", state={
        "_io_inputs": {"s": "Research.summary", "t": "$trigger.topic", "bad": "nodot"}, "topic": "ai"})
    intent.depends_on_ids = [str(upstream.pk)]
    p = Principal(id="a", api_key="k")
    with pytest.raises(OutputContractViolation) as exc:
        enforce(p, intent, "lease", scope="draft")
    assert exc.value.status_code == 422 and exc.value.detail["unresolvable"] == ["nodot"]
    assert exc.value.violation == {"rule": "rfc0024_io_inputs", "unresolvable": ["nodot"]}
    intent.state["_io_inputs"].pop("bad")
    enforce(p, intent, "lease", scope="draft")


@pytest.mark.parametrize("on_exceed,lease_status,escalations,intent_status", [
    ("pause_and_escalate", "paused", 1, "draft"), ("pause", "paused", 0, "draft"),
    ("escalate", "active", 1, "draft"), ("fail", "active", 0, "abandoned"),
])
def test_budget_guardrail_fires_once_when_crossed(api, on_exceed, lease_status, escalations, intent_status):
    from django.db import transaction

    iid = _intent(api)["id"]
    api.post("/api/v1/coordinators", {"agent_id": "c1", "intent_id": iid,
                                     "guardrails": {"max_budget_usd": 10, "on_exceed": on_exceed}}, format="json")
    with transaction.atomic():
        intent = Intent.objects.select_for_update().get(pk=iid)
        assert services.coordinator_budget_check(intent=intent, previous_usd_total=0, new_usd_total=8) is None
        assert services.coordinator_budget_check(intent=intent, previous_usd_total=8, new_usd_total=12) == on_exceed
        assert services.coordinator_budget_check(intent=intent, previous_usd_total=12, new_usd_total=15) is None
    assert CoordinatorLease.objects.get(intent_id=iid).status == lease_status
    assert Escalation.objects.filter(intent_id=iid).count() == escalations
    assert Intent.objects.get(pk=iid).status == intent_status
