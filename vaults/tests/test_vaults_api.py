"""RFC-0014 routes 1–10 (14 §2): shapes, defaults, errors, revocation cascade, expiry sweeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_client

from ..models import Credential, GrantSource, ToolGrant
from ..services import credentials_expire, grants_expire
from ..tasks import vault_expiry_task
from .conftest import make_credential, make_grant, make_vault, post


def test_vault_create_and_get(api):
    vault = make_vault(api)
    assert set(vault) == {"id", "owner_id", "name", "created_at", "credentials"}
    assert vault["owner_id"] == "owner-1" and vault["credentials"] == []
    assert api.get(f"/api/v1/vaults/{vault['id']}").json() == vault


@pytest.mark.parametrize("path, detail", [
    ("/api/v1/vaults/nope", "Vault not found"),
    ("/api/v1/credentials/nope", "Credential not found"),
    ("/api/v1/grants/00000000-0000-0000-0000-000000000000", "Grant not found"),
])
def test_unknown_ids_are_404(api, path, detail):
    response = api.get(path)
    assert response.status_code == 404 and response.json()["detail"] == detail


@pytest.mark.parametrize("body", [{}, {"owner_id": "o"}, {"owner_id": 5, "name": "n"}])
def test_vault_invalid_input_is_400(api, body):
    response = api.post("/api/v1/vaults", body, format="json")
    assert response.status_code == 400 and isinstance(response.json()["detail"], list)


def test_credential_defaults_and_vault_404(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    assert credential["auth_type"] == "api_key" and credential["status"] == "active"
    assert credential["scopes_available"] == [] and credential["secret_fields"] == []
    assert credential["rotated_at"] is None and credential["expires_at"] is None
    response = api.post("/api/v1/credentials", {"vault_id": "nope", "service": "s", "label": "l"}, format="json")
    assert response.status_code == 404 and response.json()["detail"] == "Vault not found"
    bad = api.post("/api/v1/credentials", {"vault_id": vault["id"], "service": "s", "label": "l", "auth_type": "magic"}, format="json")
    assert bad.status_code == 400


def test_credential_rotate_route_replaces_the_secret_and_keeps_grants(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"], secret={"api_key": "one"})
    grant = make_grant(api, credential["id"])
    response = api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {"secret": {"token": "two"}}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["secret_fields"] == ["token"] and body["rotated_at"] is not None and "two" not in response.content.decode()
    assert api.get(f"/api/v1/grants/{grant['id']}").json()["status"] == "active"


def test_grant_defaults_and_list(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    grant = make_grant(api, credential["id"])
    assert grant["scopes"] == [] and grant["constraints"] is None and grant["source"] == "direct"
    assert grant["delegatable"] is False and grant["delegation_depth"] == 0 and grant["delegated_from"] is None
    assert grant["context"] == {} and grant["status"] == "active" and grant["revoked_at"] is None
    delegatable = make_grant(api, credential["id"], delegatable=True)
    assert delegatable["delegation_depth"] == 1
    listed = api.get("/api/v1/agents/agent-tool/grants").json()
    assert [g["id"] for g in listed] == [grant["id"], delegatable["id"]]
    assert api.get("/api/v1/agents/nobody/grants").json() == []


def test_grant_checks(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"], scopes_available=["read"])
    base = {"credential_id": credential["id"], "agent_id": "a", "granted_by": "o"}
    assert api.post("/api/v1/grants", {**base, "credential_id": "nope"}, format="json").json()["detail"] == "Credential not found"
    assert api.post("/api/v1/grants", {**base, "scopes": ["write"]}, format="json").status_code == 400
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert api.post("/api/v1/grants", {**base, "expires_at": past}, format="json").status_code == 400
    assert api.post("/api/v1/grants", {**base, "context": {"intent_id": "00000000-0000-0000-0000-000000000000"}}, format="json").status_code == 404
    assert api.post("/api/v1/grants", {**base, "constraints": {"max_invocations_per_hour": "many"}}, format="json").status_code == 400
    Credential.objects.filter(pk=credential["id"]).update(status="revoked")
    assert api.post("/api/v1/grants", base, format="json").status_code == 409


def test_revoke_is_idempotent_keeps_the_first_timestamp_and_cascades(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    parent = make_grant(api, credential["id"], delegatable=True)
    child = ToolGrant.objects.create(
        credential_id=credential["id"], agent_id="agent-b", granted_by="agent-tool", source=GrantSource.DELEGATED,
        delegated_from_id=parent["id"], created_at=timezone.now(),
    )
    grandchild = ToolGrant.objects.create(
        credential_id=credential["id"], agent_id="agent-c", granted_by="agent-b", source=GrantSource.DELEGATED,
        delegated_from=child, created_at=timezone.now(),
    )
    first = api.delete(f"/api/v1/grants/{parent['id']}")
    assert first.status_code == 200 and first.json() == {"status": "revoked", "grant_id": parent["id"]}
    revoked_at = api.get(f"/api/v1/grants/{parent['id']}").json()["revoked_at"]
    again = api.delete(f"/api/v1/grants/{parent['id']}")
    assert again.status_code == 200
    assert api.get(f"/api/v1/grants/{parent['id']}").json()["revoked_at"] == revoked_at
    assert set(ToolGrant.objects.filter(pk__in=[child.pk, grandchild.pk]).values_list("status", flat=True)) == {"revoked"}
    assert api.delete("/api/v1/grants/nope").status_code == 404


def test_record_and_list_invocations(api):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    grant = make_grant(api, credential["id"])
    first = post(api, "/api/v1/invocations", {
        "grant_id": grant["id"], "service": "search", "tool": "q", "agent_id": "agent-tool",
        "parameters": {"q": 1, "api_key": "leak"}, "result": {"token": "leak", "n": 2}, "duration_ms": 12,
    })
    assert first["id"] == first["invocation_id"] and first["status"] == "success"
    assert first["parameters"] == {"q": 1, "api_key": "[REDACTED]"} and first["result"] == {"token": "[REDACTED]", "n": 2}
    second = post(api, "/api/v1/invocations", {"grant_id": grant["id"], "service": "s", "tool": "t", "agent_id": "a", "status": "timeout"})
    listed = api.get(f"/api/v1/grants/{grant['id']}/invocations").json()
    assert [i["id"] for i in listed] == [second["id"], first["id"]]
    assert len(api.get(f"/api/v1/grants/{grant['id']}/invocations?limit=1").json()) == 1
    assert api.get("/api/v1/grants/nope/invocations").json() == []
    bad = api.post("/api/v1/invocations", {"grant_id": grant["id"], "service": "s", "tool": "t", "agent_id": "a", "status": "flying"}, format="json")
    assert bad.status_code == 400
    missing = api.post("/api/v1/invocations", {"grant_id": "nope", "service": "s", "tool": "t", "agent_id": "a"}, format="json")
    assert missing.status_code == 404 and missing.json()["detail"] == "Grant not found"


def test_invocation_list_has_no_n_plus_one(api, django_assert_max_num_queries):
    vault = make_vault(api)
    grant = make_grant(api, make_credential(api, vault["id"])["id"])
    for _ in range(5):
        post(api, "/api/v1/invocations", {"grant_id": grant["id"], "service": "s", "tool": "t", "agent_id": "a"})
    with django_assert_max_num_queries(3):
        assert len(api.get(f"/api/v1/grants/{grant['id']}/invocations").json()) == 5
    with django_assert_max_num_queries(3):
        api.get("/api/v1/agents/agent-tool/grants")


def test_expiry_sweeps_are_idempotent(api):
    intent = post(api, "/api/v1/intents", {"title": "bound"})
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    grant = make_grant(api, credential["id"], context={"intent_id": intent["id"]})
    past = timezone.now() - timedelta(seconds=1)
    ToolGrant.objects.filter(pk=grant["id"]).update(expires_at=past)
    Credential.objects.filter(pk=credential["id"]).update(expires_at=past)
    assert vault_expiry_task() == {"grants_expired": 1, "credentials_expired": 1, "idempotency_claims_purged": 0}
    assert grants_expire() == 0 and credentials_expire() == 0
    assert api.get(f"/api/v1/grants/{grant['id']}").json()["status"] == "expired"
    assert api.get(f"/api/v1/credentials/{credential['id']}").json()["status"] == "expired"
    events = [e["event_type"] for e in api.get(f"/api/v1/intents/{intent['id']}/events").json()]
    assert events.count("grant.expired") == 1


def test_missing_api_key_is_401(db):
    assert make_client(api_key=None).post("/api/v1/vaults", {"owner_id": "o", "name": "n"}, format="json").status_code == 401


def test_admin_lists_and_revokes_grants_and_shows_the_log(api, admin_client):
    vault = make_vault(api)
    grant = make_grant(api, make_credential(api, vault["id"])["id"])
    post(api, "/api/v1/invocations", {"grant_id": grant["id"], "service": "s", "tool": "t", "agent_id": "a"})
    for url in ("/admin/vaults/vault/", "/admin/vaults/toolgrant/", f"/admin/vaults/toolgrant/{grant['id']}/change/",
                "/admin/vaults/toolinvocation/", "/admin/vaults/toolgrant/add/"):
        assert admin_client.get(url).status_code == 200, url
    response = admin_client.post("/admin/vaults/toolgrant/", {"action": "revoke_selected", "_selected_action": [grant["id"]]})
    assert response.status_code == 302
    assert ToolGrant.objects.get(pk=grant["id"]).status == "revoked"
    assert admin_client.get("/admin/vaults/toolinvocation/add/").status_code == 403


def test_delegation_narrows_and_revocation_cascades(db):
    owner_api = make_client(agent_id="agent-tool")
    vault = make_vault(owner_api)
    credential = make_credential(owner_api, vault["id"], scopes_available=["read", "write"])
    source = make_grant(owner_api, credential["id"], scopes=["read", "write"], delegatable=True, delegation_depth=2,
                        constraints={"max_invocations_per_hour": 10})
    url = f"/api/v1/grants/{source['id']}/delegate"
    # Only the grant's own agent may delegate it.
    assert make_client(agent_id="intruder").post(url, {"agent_id": "b"}, format="json").status_code == 403
    assert owner_api.post(url, {"agent_id": "b", "scopes": ["admin"]}, format="json").status_code == 400
    assert owner_api.post(url, {"agent_id": "b", "constraints": {"max_invocations_per_hour": 50}}, format="json").status_code == 400
    child = post(owner_api, url, {"agent_id": "agent-b", "scopes": ["read"]})
    assert child["source"] == "delegated" and child["delegated_from"] == source["id"]
    assert child["delegation_depth"] == 1 and child["constraints"]["max_invocations_per_hour"] == 10
    grandchild = post(make_client(agent_id="agent-b"), f"/api/v1/grants/{child['id']}/delegate", {"agent_id": "agent-c"})
    assert grandchild["delegation_depth"] == 0 and grandchild["delegatable"] is False
    assert make_client(agent_id="agent-c").post(f"/api/v1/grants/{grandchild['id']}/delegate", {"agent_id": "d"}, format="json").status_code == 409
    owner_api.delete(f"/api/v1/grants/{source['id']}")
    assert {owner_api.get(f"/api/v1/grants/{g['id']}").json()["status"] for g in (child, grandchild)} == {"revoked"}


def test_suspend_and_resume(api):
    vault = make_vault(api)
    grant = make_grant(api, make_credential(api, vault["id"])["id"])
    assert api.patch(f"/api/v1/grants/{grant['id']}/suspend").json()["status"] == "suspended"
    assert api.patch(f"/api/v1/grants/{grant['id']}/suspend").status_code == 409
    assert api.patch(f"/api/v1/grants/{grant['id']}/resume").json()["status"] == "active"


def test_task_bound_grants_are_revoked_by_the_task_hook(api):
    from ..services import grants_revoke_for_task

    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    # Without the tasks app installed the binding is not checked for existence.
    bound = ToolGrant.objects.create(credential_id=credential["id"], agent_id="a", granted_by="o",
                                     context={"task_id": "t-1"}, created_at=timezone.now())
    other = make_grant(api, credential["id"])
    assert grants_revoke_for_task(task_id="t-1") == 1
    assert ToolGrant.objects.get(pk=bound.pk).status == "revoked"
    assert ToolGrant.objects.get(pk=other["id"]).status == "active"


@pytest.mark.parametrize("metadata", [
    {"base_url": 5}, {"endpoints": ["x"]}, {"endpoints": {"t": {"headers": "h"}}}, {"auth": "header"},
    {"timeout_ms": "fast"}, {"allowed_hosts": "example.com"},
])
def test_bad_execution_configuration_is_400(api, metadata):
    vault = make_vault(api)
    response = api.post("/api/v1/credentials", {"vault_id": vault["id"], "service": "s", "label": "l", "metadata": metadata}, format="json")
    assert response.status_code == 400, response.content


def test_invalid_input_never_echoes_a_secret(api):
    vault = make_vault(api)
    nested = api.post("/api/v1/credentials", {"vault_id": vault["id"], "service": "s", "label": "l",
                                              "secret": {"api_key": "echo-me-not", "x": {"b": 1}}}, format="json")
    assert nested.status_code == 400 and "echo-me-not" not in nested.content.decode()
    # A missing field echoes the whole body as its input: the secret must be redacted there too.
    missing = api.post("/api/v1/credentials", {"vault_id": vault["id"], "service": "s",
                                               "secret": {"api_key": "echo-me-not"}, "metadata": {"password": "pw-not"}}, format="json")
    body = missing.content.decode()
    assert missing.status_code == 400 and "label" in body
    assert "echo-me-not" not in body and "pw-not" not in body


def test_revoking_a_credential_revokes_its_grants(api, admin_client):
    vault = make_vault(api)
    credential = make_credential(api, vault["id"])
    grant = make_grant(api, credential["id"])
    response = api.delete(f"/api/v1/credentials/{credential['id']}")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert api.get(f"/api/v1/grants/{grant['id']}").json()["status"] == "revoked"
    assert api.delete(f"/api/v1/credentials/{credential['id']}").status_code == 200
    other = make_credential(api, vault["id"], service="other")
    admin_client.post("/admin/vaults/credential/", {"action": "revoke_selected", "_selected_action": [other["id"]]})
    assert Credential.objects.get(pk=other["id"]).status == "revoked"
