"""The official client's RFC-0011 / RFC-0013 / RFC-0003-governance methods against a live
server (2 daphne processes, Celery worker and beat)."""

import pytest
from openintent import OpenIntentClient
from openintent.exceptions import LeaseConflictError, OpenIntentError, ValidationError
from openintent.models import AccessPolicy, DecisionType, IntentStatus, Permission

pytestmark = pytest.mark.live


@pytest.fixture
def owner(live_server_url):
    return OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="interop-owner")


@pytest.fixture
def worker(live_server_url):
    return OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="interop-worker")


def test_acl_methods_and_enforcement(owner, worker):
    intent = owner.create_intent("ACL interop")
    assert owner.get_acl(intent.id).default_policy == AccessPolicy.OPEN
    acl = owner.set_acl(intent.id, default_policy=AccessPolicy.CLOSED, entries=[])
    assert acl.default_policy == AccessPolicy.CLOSED
    with pytest.raises(OpenIntentError) as denied:
        worker.get_intent(intent.id)
    assert denied.value.status_code == 403
    request = worker.request_access(intent.id, principal_id="interop-worker", permission=Permission.WRITE,
                                    reason="need it", capabilities=["nlp"])
    assert request.status.value == "pending"
    assert [r.id for r in worker.list_access_requests(intent.id)] == [request.id]
    approved = owner.approve_access_request(intent.id, request.id, permission=Permission.READ, reason="read is enough")
    assert approved.status.value == "approved"
    assert worker.get_intent(intent.id).id == intent.id
    # read is not write: 403 on a write the ACL forbids
    with pytest.raises(OpenIntentError) as forbidden:
        worker.update_state(intent.id, worker.get_intent(intent.id).version, {"x": 1})
    assert forbidden.value.status_code == 403
    assert forbidden.value.response["detail"]["required_permission"] == "write"
    entry = owner.grant_access(intent.id, "interop-worker", permission=Permission.WRITE, reason="now write")
    assert entry.permission == Permission.WRITE
    current = worker.get_intent(intent.id)
    assert worker.update_state(intent.id, current.version, {"x": 1}).state.get("x") == 1
    owner.revoke_access(intent.id, entry.id)
    assert entry.id not in [e.id for e in owner.get_acl(intent.id).entries]
    second = worker.request_access(intent.id, principal_id="interop-worker", permission=Permission.ADMIN)
    assert owner.deny_access_request(intent.id, second.id, reason="no").status.value == "denied"


def test_governance_policy_approvals_and_403(owner, worker):
    intent = owner.create_intent("Policy interop")
    updated = owner.set_governance_policy(intent.id, intent.version,
                                          {"completion_mode": "require_approval", "allowed_agents": ["interop-owner"]})
    assert updated.version == intent.version + 1
    policy = owner.get_governance_policy(intent.id)
    assert policy["effective_policy"]["completion_mode"] == "require_approval"
    with pytest.raises(ValidationError):
        owner.set_governance_policy(intent.id, updated.version, {"write_scope": "nobody"})
    with pytest.raises(OpenIntentError) as blocked:
        owner.set_status(intent.id, updated.version, IntentStatus.COMPLETED)
    assert blocked.value.status_code == 403 and blocked.value.response["detail"]["rule"] == "completion_mode"
    # allowed_agents: the worker's write is forbidden by the policy
    owner.grant_access(intent.id, "interop-worker", permission=Permission.WRITE)
    with pytest.raises(OpenIntentError) as not_allowed:
        worker.update_state(intent.id, updated.version, {"y": 1})
    assert not_allowed.value.status_code == 403 and not_allowed.value.response["detail"]["rule"] == "allowed_agents"
    approval = owner.request_approval(intent.id, action="complete", reason="done")
    status = owner.get_approval_status(intent.id, approval.id).status
    assert getattr(status, "value", status) == "pending"
    assert owner.approve_approval(intent.id, approval.id)["status"] == "approved"
    completed = owner.set_status(intent.id, updated.version, IntentStatus.COMPLETED)
    assert completed.status == IntentStatus.COMPLETED
    other = owner.request_approval(intent.id, action="deploy")
    assert owner.deny_approval(intent.id, other.id)["decided_by"] == "interop-owner"
    removed = owner.remove_governance_policy(intent.id, completed.version)
    assert removed.governance_policy in (None, {})


def test_escalations_arbitration_and_decisions(owner):
    intent = owner.create_intent("Escalation interop")
    esc = owner.escalate_to_human(intent.id, "stuck", priority="high", context={"k": 1})
    assert esc.escalated_by == "interop-owner"
    assert esc.id in [e.id for e in owner.list_escalations(intent_id=intent.id, status="pending")]
    resolved = owner.resolve_escalation(esc.id, "unblocked", notes=None)
    assert resolved.resolved_by == "interop-owner" and resolved.resolution == "unblocked"
    with pytest.raises(OpenIntentError) as twice:
        owner.resolve_escalation(esc.id, "again")
    assert twice.value.status_code == 409
    arb = owner.request_arbitration(intent.id, "two plans", context={"a": 1})
    assert arb.requester_id == "interop-owner" and arb.status == "pending"
    decision = owner.record_decision(intent.id, "arbitration", "plan A", "cheaper")
    assert decision.reasoning == "cheaper" and decision.decision_maker_id == "interop-owner"
    record = owner.create_decision_record("interop-owner", intent.id, DecisionType.PLAN_CREATED, "plan", "why",
                                          confidence=0.8)
    assert record["decision_type"] == "plan_created"
    assert [r["id"] for r in owner.list_decision_records(intent.id)] == [record["id"]]
    decisions = owner.get_decisions(intent.id)
    assert {d.id for d in decisions} >= {decision.id, record["id"]}


def test_coordinator_leases(owner, live_server_url):
    intent = owner.create_intent("Coordinator interop")
    lease = owner.create_coordinator_lease("interop-owner", intent.id, heartbeat_interval_seconds=30,
                                           metadata={"failover_pool": []})
    assert owner.get_coordinator_lease(lease.id).agent_id == "interop-owner"
    assert [c.id for c in owner.list_coordinator_leases(intent.id)] == [lease.id]
    assert owner.coordinator_heartbeat(lease.id)["status"] == "ok"
    rival = OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="interop-owner")
    with pytest.raises(LeaseConflictError):
        rival.create_coordinator_lease("someone-else", intent.id)
    stranger = OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="stranger")
    with pytest.raises(OpenIntentError) as not_yours:
        stranger.coordinator_heartbeat(lease.id)
    assert not_yours.value.status_code == 403
