"""Every other endpoint group against the live server. Each test is gated on its routes
(``requires_route``) so it runs as soon as the server serves them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from openintent_sdk import (
    ACL, AccessRequest, ACLEntry, AgentRecord, Approval, Arbitration, Attachment, Client, ConflictError,
    CoordinatorLease, CostRecord, Credential, Decision, DecisionRecord, Escalation, Failure, ForbiddenError,
    Grant, LeaseConflictError, Membership, MemoryEntry, NotFoundError, Plan, Portfolio, RetryPolicy,
    Subscription, Task, Trigger, ValidationError, Vault,
)

from .sdk_testlib import DEV_KEY, unique

pytestmark = pytest.mark.live
route = pytest.mark.requires_route


# --- governance: arbitration and decisions (04), policy, approvals, escalations (13) ----------

@route("POST /api/v1/intents/{id}/arbitrate", "POST /api/v1/intents/{id}/decisions",
       "GET /api/v1/intents/{id}/decisions")
def test_arbitration_and_decisions(client, intent, agent_id):
    arb = client.governance.request_arbitration(intent.id, "two answers disagree", context={"a": 1})
    assert isinstance(arb, Arbitration) and arb.id and arb.requested_by == agent_id and arb.status == "pending"
    dec = client.governance.record_decision(intent.id, "arbitration", "pick A", rationale="better sources",
                                            arbitration_id=arb.id)
    assert isinstance(dec, Decision) and dec.decided_by == agent_id and dec.rationale == "better sources"
    assert dec.outcome == "pick A"
    assert [d.id for d in client.governance.decisions(intent.id)] == [dec.id]


@route("POST /api/v1/intents/{id}/arbitrate", "GET /api/v1/intents/{id}/arbitration")
def test_arbitration_list(client, intent):
    first = client.governance.request_arbitration(intent.id, "first")
    second = client.governance.request_arbitration(intent.id, "second", options=[{"label": "A"}])
    assert [a.id for a in client.governance.arbitrations(intent.id)] == [second.id, first.id]


@route("PUT /api/v1/intents/{id}/governance", "GET /api/v1/intents/{id}/governance",
       "DELETE /api/v1/intents/{id}/governance")
def test_governance_policy(client, intent, server_url):
    updated = client.governance.set_policy(intent.id, {"write_scope": "assigned_only"})
    assert updated.governance_policy == {"write_scope": "assigned_only"} and updated.version == 2
    info = client.governance.get_policy(intent.id)
    assert info.effective_policy["write_scope"] == "assigned_only"
    outsider = Client(server_url, DEV_KEY, unique("outsider"))
    with pytest.raises(ForbiddenError) as err:
        outsider.intents.update_state(intent.id, {"x": 1})
    assert err.value.rule == "write_scope" and err.value.is_governance_violation
    with pytest.raises(ConflictError):
        client.governance.set_policy(intent.id, {}, version=1)
    removed = client.governance.remove_policy(intent.id)
    assert removed.governance_policy is None
    assert client.governance.get_policy(intent.id).governance_policy == {}


@route("POST /api/v1/intents/{id}/approvals", "GET /api/v1/intents/{id}/approvals/{aid}",
       "POST /api/v1/intents/{id}/approvals/{aid}/approve", "POST /api/v1/intents/{id}/approvals/{aid}/deny")
def test_approvals(client, intent, agent_id):
    first = client.governance.request_approval(intent.id, "complete", reason="ready")
    assert isinstance(first, Approval) and first.status == "pending" and first.requested_by == agent_id
    assert client.governance.get_approval(intent.id, first.id).id == first.id
    approved = client.governance.approve(intent.id, first.id)
    assert approved.status == "approved" and approved.decided_by == agent_id
    with pytest.raises(ConflictError):
        client.governance.approve(intent.id, first.id)
    second = client.governance.request_approval(intent.id, "deploy")
    assert client.governance.deny(intent.id, second.id).status == "denied"
    with pytest.raises(NotFoundError):
        client.governance.get_approval(intent.id, "nonexistent-id")


@route("POST /api/v1/intents/{id}/escalations", "GET /api/v1/escalations",
       "POST /api/v1/escalations/{eid}/resolve")
def test_escalations(client, intent, agent_id):
    esc = client.governance.escalate(intent.id, "stuck", priority="high")
    assert isinstance(esc, Escalation) and esc.status == "pending" and esc.escalated_by == agent_id
    assert esc.id in [e.id for e in client.governance.escalations(intent_id=intent.id)]
    resolved = client.governance.resolve_escalation(esc.id, "unblocked", notes="gave access")
    assert resolved.status == "resolved" and resolved.resolution_notes == "gave access"
    assert client.governance.escalations(intent_id=intent.id, status="pending") == []
    with pytest.raises(ConflictError):
        client.governance.resolve_escalation(esc.id, "again")


# --- attachments (05) -------------------------------------------------------------------------

@route("POST /api/v1/intents/{id}/attachments", "GET /api/v1/intents/{id}/attachments",
       "DELETE /api/v1/intents/{id}/attachments/{aid}", "GET /api/v1/intents/{id}/attachments/{aid}/content")
def test_attachments(client, intent, agent_id):
    ref = client.attachments.add(intent.id, "report.pdf", mime_type="application/pdf", size=1234,
                                 storage_url="s3://bucket/report.pdf", metadata={"pages": 3})
    assert isinstance(ref, Attachment) and ref.size == 1234 and ref.metadata == {"pages": 3}
    assert ref.created_by == agent_id
    stored = client.attachments.add(intent.id, "notes.txt", mime_type="text/plain", content=b"hello")
    assert stored.size == 5
    assert client.attachments.content(intent.id, stored.id) == b"hello"
    assert [a.id for a in client.attachments.list(intent.id)] == [ref.id, stored.id]
    client.attachments.delete(intent.id, ref.id)
    assert [a.id for a in client.attachments.list(intent.id)] == [stored.id]
    with pytest.raises(NotFoundError):
        client.attachments.delete(intent.id, ref.id)


# --- subscriptions (06) -----------------------------------------------------------------------

@route("POST /api/v1/subscriptions", "GET /api/v1/subscriptions", "DELETE /api/v1/subscriptions/{id}")
def test_subscriptions(client, intent, agent_id):
    sub = client.subscriptions.create(intent_id=intent.id, event_types=["state_patched"],
                                      webhook_url="https://hooks.invalid/x",
                                      expires_at=datetime.utcnow() + timedelta(hours=1))
    assert isinstance(sub, Subscription) and sub.subscriber_id == agent_id and sub.active
    assert [s.id for s in client.subscriptions.list(intent_id=intent.id)] == [sub.id]
    client.intents.update_state(intent.id, {"n": 1})  # delivery fails quietly in the background
    client.subscriptions.delete(sub.id)
    assert client.subscriptions.list(intent_id=intent.id) == []
    with pytest.raises(NotFoundError):
        client.subscriptions.delete(sub.id)
    with pytest.raises(NotFoundError):
        client.subscriptions.create(intent_id="nonexistent-id")


# --- portfolios (07) --------------------------------------------------------------------------

@route("POST /api/v1/portfolios", "GET /api/v1/portfolios", "GET /api/v1/portfolios/{id}",
       "PATCH /api/v1/portfolios/{id}/status", "POST /api/v1/portfolios/{id}/intents",
       "GET /api/v1/portfolios/{id}/intents", "DELETE /api/v1/portfolios/{id}/intents/{iid}",
       "GET /api/v1/intents/{id}/portfolios")
def test_portfolios(client, intent, agent_id):
    p = client.portfolios.create(unique("folio"), governance_policy={"require_all_completed": True})
    assert isinstance(p, Portfolio) and p.created_by == agent_id and p.status == "active"
    assert p.id in [x.id for x in client.portfolios.list(created_by=agent_id)]
    member = client.portfolios.add_intent(p.id, intent.id, role="primary", priority=5)
    assert isinstance(member, Membership) and member.id and member.priority == 5
    assert [i.id for i in client.portfolios.intents(p.id)] == [intent.id]
    assert [x.id for x in client.portfolios.for_intent(intent.id)] == [p.id]
    assert client.portfolios.get(p.id).name == p.name
    # require_all_completed takes effect (issue 3): the open member blocks completion.
    with pytest.raises(ForbiddenError) as refused:
        client.portfolios.set_status(p.id, "completed")
    assert refused.value.detail["rule"] == "require_all_completed"
    client.intents.complete(intent.id)
    assert client.portfolios.set_status(p.id, "completed").status == "completed"
    client.portfolios.remove_intent(p.id, intent.id)
    assert client.portfolios.intents(p.id) == []
    with pytest.raises(NotFoundError):
        client.portfolios.get("nonexistent-id")


# --- costs (09) and retries (10) --------------------------------------------------------------

@route("POST /api/v1/intents/{id}/costs", "GET /api/v1/intents/{id}/costs")
def test_costs(client, intent, agent_id):
    rec = client.costs.record(intent.id, 1500, cost_type="tokens", unit="tokens", provider="openai",
                              metadata={"model": "x"})
    assert isinstance(rec, CostRecord) and rec.amount == 1500.0 and rec.agent_id == agent_id
    assert rec.metadata == {"model": "x"}
    client.costs.record(intent.id, 25, unit="cents")
    assert len(client.costs.list(intent.id)) == 2
    assert client.costs.total(intent.id, unit="cents") == 25.0


@route("PUT /api/v1/intents/{id}/retry-policy", "GET /api/v1/intents/{id}/retry-policy",
       "POST /api/v1/intents/{id}/failures", "GET /api/v1/intents/{id}/failures")
def test_retries(client, intent, agent_id):
    assert client.retries.get_policy(intent.id) is None
    policy = client.retries.set_policy(intent.id, "exponential", max_retries=5, base_delay_ms=100,
                                       fallback_agent_id="backup-agent", failure_threshold=10)
    assert isinstance(policy, RetryPolicy) and policy.fallback_agent_id == "backup-agent"
    assert client.retries.get_policy(intent.id).max_retries == 5
    assert policy.delay_ms(3) == 400
    failure = client.retries.record_failure(intent.id, "TIMEOUT", "upstream slow", attempt_number=2)
    assert isinstance(failure, Failure) and failure.error_code == "TIMEOUT" and failure.agent_id == agent_id
    assert [f.id for f in client.retries.failures(intent.id)] == [failure.id]
    with pytest.raises(ValidationError):
        client.transport.request("PUT", f"/api/v1/intents/{intent.id}/retry-policy", json_body={"strategy": "sometimes"})


# --- access control (11) ----------------------------------------------------------------------

@route("GET /api/v1/intents/{id}/acl", "PUT /api/v1/intents/{id}/acl", "POST /api/v1/intents/{id}/acl/entries",
       "DELETE /api/v1/intents/{id}/acl/entries/{eid}", "POST /api/v1/intents/{id}/access-requests",
       "GET /api/v1/intents/{id}/access-requests",
       "POST /api/v1/intents/{id}/access-requests/{rid}/approve",
       "POST /api/v1/intents/{id}/access-requests/{rid}/deny")
def test_access_control(client, intent, server_url):
    assert client.access.get_acl(intent.id).default_policy == "open"
    acl = client.access.set_acl(intent.id, default_policy="closed",
                                entries=[{"principal_id": "reader-1", "permission": "read"}])
    assert isinstance(acl, ACL) and acl.default_policy == "closed" and acl.entries[0].principal_id == "reader-1"
    entry = client.access.grant(intent.id, "writer-1", "write", reason="helps")
    assert isinstance(entry, ACLEntry) and entry.permission == "write"
    client.access.revoke(intent.id, entry.id)
    assert "writer-1" not in [e.principal_id for e in client.access.get_acl(intent.id).entries]

    outsider_id = unique("outsider")
    outsider = Client(server_url, DEV_KEY, outsider_id)
    with pytest.raises(ForbiddenError) as err:
        outsider.intents.get(intent.id)
    assert err.value.error == "forbidden" and err.value.access_request_url
    req = outsider.access.request_access(intent.id, "write", reason="I can help")
    assert isinstance(req, AccessRequest) and req.status == "pending"
    assert req.id in [r.id for r in client.access.requests(intent.id)]
    approved = client.access.approve_request(intent.id, req.id, permission="read")
    assert approved.status == "approved"
    assert outsider.intents.get(intent.id).id == intent.id
    second = outsider.access.request_access(intent.id, "admin")
    assert client.access.deny_request(intent.id, second.id, reason="no").status == "denied"


# --- tasks and plans (12) ---------------------------------------------------------------------

@route("POST /api/v1/tasks", "GET /api/v1/tasks/{id}", "GET /api/v1/intents/{id}/tasks", "PATCH /api/v1/tasks/{id}")
def test_tasks(client, intent, agent_id):
    first = client.tasks.create(intent.id, "fetch", input={"url": "x"}, capabilities_required=["web"])
    second = client.tasks.create(intent.id, "summarise", depends_on=[first.id], metadata={"k": 1})
    assert isinstance(first, Task) and first.status == "pending" and first.version == 1
    assert second.metadata == {"k": 1}
    assert [t.id for t in client.tasks.list(intent.id)] == [first.id, second.id]
    assert client.tasks.get(first.id).blocks == [second.id]
    claimed = client.tasks.claim(first.id)
    assert claimed.status == "claimed" and claimed.assigned_agent == agent_id
    running = client.tasks.start(first.id)
    assert running.status == "running" and running.started_at is not None
    done = client.tasks.complete(first.id, output={"text": "..."})
    assert done.status == "completed" and done.output == {"text": "..."}
    assert client.tasks.get(second.id).status == "ready"
    with pytest.raises(ConflictError):
        client.tasks.update(second.id, status="running", version=1)
    failed = client.tasks.fail(client.tasks.start(second.id).id, "boom")
    assert failed.status == "failed" and failed.error == "boom"
    assert client.tasks.update(second.id, status="ready").attempt == 2
    assert [t.id for t in client.tasks.list(intent.id, status="completed")] == [first.id]


@route("POST /api/v1/plans", "GET /api/v1/plans/{id}", "GET /api/v1/intents/{id}/plans", "PATCH /api/v1/plans/{id}",
       "POST /api/v1/tasks")
def test_plans(client, intent):
    task = client.tasks.create(intent.id, "step")
    plan = client.plans.create(intent.id, tasks=[task.id], on_failure="notify", metadata={"owner": "me"})
    assert isinstance(plan, Plan) and plan.state == "draft" and plan.tasks == [task.id]
    assert plan.metadata == {"owner": "me"}
    assert client.plans.get(plan.id).id == plan.id
    assert [p.id for p in client.plans.list(intent.id)] == [plan.id]
    active = client.plans.activate(plan.id)
    assert active.state == "active" and active.version == 2
    paused = client.plans.update(plan.id, state="paused", retry_on_conflict=True)
    assert paused.state == "paused"


# --- coordinator (13) -------------------------------------------------------------------------

@route("POST /api/v1/coordinators", "GET /api/v1/coordinators/{id}", "GET /api/v1/intents/{id}/coordinators",
       "POST /api/v1/coordinators/{id}/heartbeat", "POST /api/v1/decisions",
       "GET /api/v1/intents/{id}/coordinator-decisions")
def test_coordinator(client, intent, agent_id, server_url):
    lease = client.coordinator.create_lease(intent_id=intent.id, supervisor_id="human-1",
                                            guardrails={"max_tasks_per_plan": 5}, metadata={"m": 1})
    assert isinstance(lease, CoordinatorLease) and lease.agent_id == agent_id and lease.status == "active"
    assert lease.metadata == {"m": 1}
    assert client.coordinator.get_lease(lease.id).id == lease.id
    assert [x.id for x in client.coordinator.leases(intent.id)] == [lease.id]
    beat = client.coordinator.heartbeat(lease.id, active_tasks=1)
    assert beat["status"] == "ok"
    assert client.coordinator.get_lease(lease.id).last_heartbeat is not None
    rival = Client(server_url, DEV_KEY, unique("rival"))
    with pytest.raises(LeaseConflictError):
        rival.coordinator.create_lease(intent_id=intent.id)
    rec = client.coordinator.record_decision(intent.id, "plan_created", "made a plan", "it was needed",
                                             confidence=0.8, alternatives_considered=[{"option": "none"}])
    assert isinstance(rec, DecisionRecord) and rec.coordinator_id == agent_id and rec.confidence == 0.8
    assert rec.id in [d.id for d in client.coordinator.decision_records(intent.id)]


# --- vaults and tools (14) --------------------------------------------------------------------

@route("POST /api/v1/vaults", "GET /api/v1/vaults/{id}", "POST /api/v1/credentials", "GET /api/v1/credentials/{id}",
       "POST /api/v1/grants", "GET /api/v1/grants/{id}", "GET /api/v1/agents/{id}/grants",
       "DELETE /api/v1/grants/{id}", "POST /api/v1/invocations", "GET /api/v1/grants/{id}/invocations",
       "POST /api/v1/tools/invoke")
def test_vaults_and_tools(client, agent_id):
    vault = client.vaults.create_vault(unique("vault"))
    assert isinstance(vault, Vault) and vault.owner_id == agent_id
    cred = client.vaults.create_credential(vault.id, "search", "search key", scopes_available=["query"],
                                           secret={"api_key": "s3cret"})
    assert isinstance(cred, Credential) and "s3cret" not in str(cred.raw)
    assert cred.id in client.vaults.get_vault(vault.id).credentials
    assert client.vaults.get_credential(cred.id).service == "search"
    grant = client.vaults.create_grant(cred.id, agent_id, scopes=["query"])
    assert isinstance(grant, Grant) and grant.status == "active"
    assert client.vaults.get_grant(grant.id).id == grant.id
    assert [g.id for g in client.tools.agent_grants()] == [grant.id]
    inv = client.vaults.record_invocation(grant.id, "search", "query", parameters={"q": "x"}, duration_ms=5,
                                          idempotency_key=unique("idem"))
    assert inv.id and inv.tool == "query"
    assert [i.id for i in client.vaults.invocations(grant.id)] == [inv.id]
    with pytest.raises(ValidationError) as err:
        client.tools.invoke("query", {"q": "x"}, idempotency_key="auto")
    assert "no execution configuration" in str(err.value)
    assert client.vaults.revoke_grant(grant.id)["status"] == "revoked"
    assert client.vaults.get_grant(grant.id).status == "revoked"
    with pytest.raises(ForbiddenError):
        client.tools.invoke("query", {"q": "x"})


# --- memory (15) ------------------------------------------------------------------------------

@route("POST /api/v1/memory", "GET /api/v1/memory/{id}", "GET /api/v1/agents/{id}/memory",
       "PATCH /api/v1/memory/{id}", "DELETE /api/v1/memory/{id}")
def test_memory(client, agent_id):
    entry = client.memory.create("notes.project", "summary", {"text": "v1"}, memory_type="episodic",
                                 tags=["a", "b"], ttl="duration:PT1H")
    assert isinstance(entry, MemoryEntry) and entry.version == 1 and entry.expires_at is not None
    assert client.memory.get(entry.id).value == {"text": "v1"}
    assert [e.id for e in client.memory.list(namespace="notes.project", tags=["a"])] == [entry.id]
    updated = client.memory.update(entry.id, value={"text": "v2"})
    assert updated.version == 2 and updated.value == {"text": "v2"}
    with pytest.raises(ConflictError) as err:
        client.memory.update(entry.id, value={"text": "stale"}, version=1)
    assert err.value.current_version == 2
    with pytest.raises(ConflictError):
        client.memory.create("notes.project", "summary", {"text": "dup"}, memory_type="episodic")
    assert client.memory.delete(entry.id)["status"] == "deleted"
    with pytest.raises(NotFoundError):
        client.memory.get(entry.id)


# --- agents (16) ------------------------------------------------------------------------------

@route("POST /api/v1/agents/register", "GET /api/v1/agents/{id}/record", "GET /api/v1/agents",
       "POST /api/v1/agents/{id}/heartbeat", "PATCH /api/v1/agents/{id}/status")
def test_agents(client, agent_id, server_url):
    record = client.agents.register(name="Tester", role_id="testers", capabilities=["python"],
                                    heartbeat_config={"interval_seconds": 30}, metadata={"v": 1})
    assert isinstance(record, AgentRecord) and record.status == "active" and record.metadata == {"v": 1}
    assert client.agents.get().agent_id == agent_id
    assert agent_id in [a.agent_id for a in client.agents.list(role_id="testers")]
    assert agent_id in [a.agent_id for a in client.agents.list(capabilities=["python"])]
    beat = client.agents.heartbeat(current_load=1)
    assert beat.status == "ok" and beat.next_heartbeat_at is not None
    with pytest.raises(ConflictError):
        client.agents.register()
    other = Client(server_url, DEV_KEY, unique("other"))
    with pytest.raises(ForbiddenError):
        other.agents.heartbeat(agent_id)
    assert client.agents.drain(reason="done").status in ("draining", "deregistered")
    second = client.with_agent(unique("short-lived"))
    assert second.agents.register().status == "active"
    assert second.agents.set_status("deregistered", reason="bye").status == "deregistered"


# --- triggers (17) ----------------------------------------------------------------------------

@route("POST /api/v1/triggers", "GET /api/v1/triggers/{id}", "GET /api/v1/triggers", "PATCH /api/v1/triggers/{id}",
       "POST /api/v1/triggers/{id}/fire", "GET /api/v1/triggers/{id}/history", "DELETE /api/v1/triggers/{id}")
def test_triggers(client):
    ns = unique("ns")
    trig = client.triggers.create(unique("nightly"), "schedule", condition={"cron": "0 3 * * *"},
                                  intent_template={"title": "Report for {{ trigger.name }}"}, namespace=ns)
    assert isinstance(trig, Trigger) and trig.id == trig.trigger_id and trig.version == 1
    assert client.triggers.get(trig.id).name == trig.name
    assert [t.id for t in client.triggers.list(namespace=ns, type="schedule")] == [trig.id]
    fired = client.triggers.fire(trig.id, payload={"x": 1})
    assert fired.status == "fired" and fired.fire_count == 1 and fired.intent_id
    assert client.intents.get(fired.intent_id).title == f"Report for {trig.name}"
    assert client.triggers.history(trig.id)[0]["outcome"] == "fired"
    disabled = client.triggers.update(trig.id, enabled=False)
    assert disabled.enabled is False and disabled.version == 2
    with pytest.raises(ConflictError):
        client.triggers.fire(trig.id)
    assert client.triggers.list(namespace=ns, enabled=True) == []
    assert client.triggers.delete(trig.id)["status"] == "deleted"
    with pytest.raises(NotFoundError):
        client.triggers.get(trig.id)
