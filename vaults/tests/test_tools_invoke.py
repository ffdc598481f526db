"""POST /api/v1/tools/invoke (14 §3): a real call through the server-side adapter, with the
secret injected server-side, grants and scopes checked, a shared per-grant rate limit, the
destination check, and every call recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from conftest import make_client

from ..models import ToolGrant, ToolInvocation
from .conftest import make_credential, make_grant, make_vault, post

SECRET = "sk-upstream-secret-value"


def rest_credential(api, upstream, **extra):
    extra.setdefault("service", "search-api")
    vault = make_vault(api)
    metadata = {
        "base_url": upstream.url,
        "endpoints": {
            "search": {"path": "/v1/search", "method": "POST", "headers": {"X-Trace": "t1"}},
            "get_item": {"path": "/v1/items/{item_id}", "method": "GET"},
        },
        "auth": {"location": "header", "header_name": "X-Api-Key"},
        **extra.pop("metadata", {}),
    }
    return make_credential(api, vault["id"], metadata=metadata, secret={"api_key": SECRET}, **extra)


def invoke(api, tool, status=200, **body):
    response = api.post("/api/v1/tools/invoke", {"tool_name": tool, "agent_id": "agent-tool", **body}, format="json")
    assert response.status_code == status, response.content
    return response


def test_invoke_sends_the_injected_secret_and_returns_the_upstream_response(agent_api, upstream):
    upstream.reply = (200, {"hits": [1, 2, 3], "query": "cats"})
    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"])
    body = invoke(agent_api, "search", parameters={"q": "cats", "password": "agent-typed-pw"}).json()

    assert body["status"] == "success" and body["tool_name"] == "search" and body["error"] is None
    assert body["result"] == {"hits": [1, 2, 3], "query": "cats"}
    sent = upstream.requests[-1]
    assert sent["method"] == "POST" and sent["path"] == "/v1/search"
    assert sent["headers"]["X-Api-Key"] == SECRET and sent["headers"]["X-Trace"] == "t1"
    assert json.loads(sent["body"]) == {"q": "cats", "password": "agent-typed-pw"}

    # The response's invocation_id is the stored row; the log has no secret, parameters sanitized.
    row = ToolInvocation.objects.get(pk=body["invocation_id"])
    assert str(row.grant_id) == grant["id"] and row.status == "success" and row.duration_ms is not None
    assert row.parameters == {"q": "cats", "password": "[REDACTED]"}
    assert row.context["http_status"] == 200 and len(row.context["request_fingerprint"]) == 16
    listed = agent_api.get(f"/api/v1/grants/{grant['id']}/invocations").json()
    assert [i["id"] for i in listed] == [body["invocation_id"]]
    assert SECRET not in json.dumps(listed) and "agent-typed-pw" not in json.dumps(listed)


def test_url_template_fills_path_parameters_and_get_sends_the_rest_as_query(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["get_item"])
    invoke(agent_api, "get_item", parameters={"item_id": "a b/c", "fields": "name"})
    sent = upstream.requests[-1]
    assert sent["method"] == "GET" and sent["path"] == "/v1/items/a%20b%2Fc?fields=name"


def test_bearer_and_query_and_basic_auth_injection(agent_api, upstream):
    vault = make_vault(agent_api)
    bearer = make_credential(agent_api, vault["id"], service="b", auth_type="bearer_token",
                             metadata={"base_url": upstream.url}, secret={"token": "tok-1"})
    query = make_credential(agent_api, vault["id"], service="q", metadata={"base_url": upstream.url, "auth": {"location": "query", "query_param": "key"}}, secret={"api_key": "qk-2"})
    basic = make_credential(agent_api, vault["id"], service="u", auth_type="basic_auth",
                            metadata={"base_url": upstream.url, "username": "alice", "password": "pw-3"})
    for credential in (bearer, query, basic):
        make_grant(agent_api, credential["id"])
    invoke(agent_api, "b")
    assert upstream.requests[-1]["headers"]["Authorization"] == "Bearer tok-1"
    invoke(agent_api, "q")
    assert upstream.requests[-1]["path"] == "/q?key=qk-2"
    invoke(agent_api, "u")
    assert upstream.requests[-1]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"alice:pw-3").decode()


def test_grant_without_the_scope_is_refused(agent_api, upstream):
    credential = rest_credential(agent_api, upstream, service="search-api", scopes_available=["search", "delete"])
    make_grant(agent_api, credential["id"], scopes=["delete"])
    response = invoke(agent_api, "search", status=403)
    assert response.json()["detail"] == "No active grant found for agent 'agent-tool' to use tool 'search'"
    assert upstream.requests == []
    # A scope outside scopes_available cannot be granted at all.
    refused = agent_api.post("/api/v1/grants", {"credential_id": credential["id"], "agent_id": "agent-tool",
                                                "granted_by": "o", "scopes": ["admin"]}, format="json")
    assert refused.status_code == 400


def test_eleventh_call_in_a_ten_per_window_limit_gets_429(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"], constraints={"max_invocations_per_hour": 10})
    for _ in range(10):
        invoke(agent_api, "search")
    response = invoke(agent_api, "search", status=429)
    assert response.json()["detail"] == "Rate limit exceeded: 10 invocations per hour"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert len(upstream.requests) == 10
    assert ToolGrant.objects.get(pk=grant["id"]).rate_window_count == 10


def test_rate_limit_window_reopens_after_it_lapses(agent_api, upstream, settings):
    from datetime import timedelta

    from django.utils import timezone

    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"], constraints={"max_invocations_per_hour": 1})
    invoke(agent_api, "search")
    invoke(agent_api, "search", status=429)
    ToolGrant.objects.filter(pk=grant["id"]).update(rate_window_start=timezone.now() - timedelta(hours=2))
    invoke(agent_api, "search")


def test_credential_without_execution_configuration_is_400_and_recorded(agent_api):
    vault = make_vault(agent_api)
    credential = make_credential(agent_api, vault["id"], secret={"api_key": SECRET})
    grant = make_grant(agent_api, credential["id"], scopes=["search"])
    response = invoke(agent_api, "search", status=400, parameters={"q": 1, "token": "t0k"})
    assert response.json() == {"detail": "credential has no execution configuration", "message": "credential has no execution configuration"}
    row = ToolInvocation.objects.get(grant_id=grant["id"])
    assert row.status == "error" and row.error == {"message": "credential has no execution configuration"}
    assert row.parameters == {"q": 1, "token": "[REDACTED]"}


def test_agent_may_not_invoke_for_another_agent(db, upstream):
    other = make_client(agent_id="agent-other")
    response = other.post("/api/v1/tools/invoke", {"tool_name": "search", "agent_id": "agent-tool"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Principal may not act for agent 'agent-tool'"
    operator = make_client(api_key="operator-key", agent_id="ops")
    assert operator.post("/api/v1/tools/invoke", {"tool_name": "search", "agent_id": "agent-tool"}, format="json").status_code == 403
    # The operator passed the principal check and reached grant resolution.
    assert "No active grant" in operator.post("/api/v1/tools/invoke", {"tool_name": "search", "agent_id": "agent-tool"}, format="json").json()["detail"]


def test_private_destinations_are_refused_unless_allowed(agent_api, upstream, settings):
    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"])
    settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = False
    response = invoke(agent_api, "search", status=403)
    assert "Blocked" in response.json()["detail"]
    assert upstream.requests == []
    assert ToolInvocation.objects.get(grant_id=grant["id"]).status == "denied"


@pytest.mark.parametrize("url", [
    "http://localhost:8080/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
    "ftp://example.com/x", "http://metadata.google.internal/x",
])
def test_destination_check_blocks_literals(settings, url):
    from ..netguard import DestinationRefused, check_url

    settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(DestinationRefused):
        check_url(url)


def test_destination_check_resolves_names(settings, monkeypatch):
    import socket

    from ..netguard import DestinationRefused, check_url

    settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = False
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.7", 80))])
    with pytest.raises(DestinationRefused, match="resolves to a blocked address"):
        check_url("http://innocent.example.com/x")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 80))])
    assert check_url("http://innocent.example.com/x")
    with pytest.raises(DestinationRefused, match="allowlist"):
        check_url("http://innocent.example.com/x", ["api.example.org"])


def test_upstream_5xx_is_502_and_4xx_is_an_error_result(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    upstream.reply = (503, {"error": "down"})
    assert invoke(agent_api, "search", status=502).json()["detail"] == "Upstream returned HTTP 503"
    upstream.reply = (404, {"error": "nope"})
    body = invoke(agent_api, "search").json()
    assert body["status"] == "error" and body["result"] == {"error": "nope"}


def test_response_over_the_cap_is_an_error(agent_api, upstream, settings):
    settings.OPENINTENT_TOOLS_MAX_RESPONSE_BYTES = 100
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    upstream.reply = (200, {"blob": "x" * 500})
    body = invoke(agent_api, "search").json()
    assert body["status"] == "error" and "too large" in body["error"]


def test_result_secrets_are_redacted(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    upstream.reply = (200, {"echo_api_key": SECRET, "data": 1})
    body = invoke(agent_api, "search").json()
    assert body["result"] == {"echo_api_key": "[REDACTED]", "data": 1}


def test_expired_and_revoked_grants_are_skipped_in_favour_of_a_valid_one(agent_api, upstream):
    from datetime import timedelta

    from django.utils import timezone

    credential = rest_credential(agent_api, upstream)
    stale = make_grant(agent_api, credential["id"], scopes=["search"])
    ToolGrant.objects.filter(pk=stale["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    revoked = make_grant(agent_api, credential["id"], scopes=["search"])
    agent_api.delete(f"/api/v1/grants/{revoked['id']}")
    good = make_grant(agent_api, credential["id"], scopes=["search"])
    body = invoke(agent_api, "search").json()
    assert str(ToolInvocation.objects.get(pk=body["invocation_id"]).grant_id) == good["id"]


def test_parameter_constraints(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"], constraints={
        "denied_parameters": {"mode": ["delete"]}, "allowed_parameters": {"q": True, "mode": ["read", "delete"]},
    })
    invoke(agent_api, "search", parameters={"q": "x", "mode": "read"})
    assert invoke(agent_api, "search", status=403, parameters={"mode": "delete"}).json()["code"] == "GRANT_PARAMETER_DENIED"
    invoke(agent_api, "search", status=403, parameters={"other": 1})


def test_idempotency_key_returns_the_stored_outcome_without_a_second_call(agent_api, upstream):
    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    first = invoke(agent_api, "search", idempotency_key="k1").json()
    second = invoke(agent_api, "search", idempotency_key="k1").json()
    assert first == second and len(upstream.requests) == 1


def test_webhook_adapter_signs_exactly_the_bytes_it_sends(agent_api, upstream):
    vault = make_vault(agent_api)
    credential = make_credential(agent_api, vault["id"], service="notify", auth_type="webhook",
                                 metadata={"base_url": upstream.url + "/hook"}, secret={"signing_secret": "whsec-1"})
    make_grant(agent_api, credential["id"], scopes=["notify"])
    invoke(agent_api, "notify", parameters={"text": "hi"})
    sent = upstream.requests[-1]
    expected = hmac.new(b"whsec-1", sent["body"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-OpenIntent-Signature"] == f"sha256={expected}"
    assert json.loads(sent["body"])["parameters"] == {"text": "hi"}


def test_oauth2_refreshes_on_401_and_stores_the_new_token_sealed(agent_api, upstream):
    from ..models import Credential
    from ..services import credential_secret

    vault = make_vault(agent_api)
    credential = make_credential(agent_api, vault["id"], service="crm", auth_type="oauth2_token", metadata={
        "base_url": upstream.url, "token_url": upstream.url + "/token",
    }, secret={"access_token": "old-token", "client_id": "cid", "client_secret": "csec"})
    make_grant(agent_api, credential["id"], scopes=["crm"])
    upstream.replies = [(401, {"error": "expired"}), (200, {"access_token": "new-token"}), (200, {"ok": 1})]
    body = invoke(agent_api, "crm").json()
    assert body["status"] == "success" and body["result"] == {"ok": 1, "_refreshed": True}
    assert [r["headers"].get("Authorization") for r in (upstream.requests[0], upstream.requests[2])] == ["Bearer old-token", "Bearer new-token"]
    stored = Credential.objects.get(pk=credential["id"])
    assert credential_secret(stored)["access_token"] == "new-token" and stored.rotated_at is not None


def test_tool_events_land_on_the_bound_intent(agent_api, upstream):
    intent = post(agent_api, "/api/v1/intents", {"title": "Use tools"})
    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"], context={"intent_id": intent["id"]})
    # A grant bound to an intent is not usable outside it.
    invoke(agent_api, "search", status=403)
    invoke(agent_api, "search", context={"intent_id": intent["id"]}, parameters={"q": "x"})
    agent_api.delete(f"/api/v1/grants/{grant['id']}")
    events = sorted(agent_api.get(f"/api/v1/intents/{intent['id']}/events").json(), key=lambda e: e["sequence"])
    types = [e["event_type"] for e in events]
    assert types == ["intent_created", "grant.created", "tool.invoked", "grant.revoked"]
    invoked = events[2]["payload"]
    assert invoked["status"] == "success" and invoked["parameters_summary"] == ["q"] and invoked["tool"] == "search"
    assert events[3]["payload"] == {"grant_id": grant["id"], "reason": "revoked", "cascade_count": 0}


def test_a_secret_sealed_under_a_retired_key_is_a_clean_500(agent_api, upstream, settings):
    from ..crypto import generate_key_line

    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    settings.OPENINTENT_VAULT_KEYS = [generate_key_line()]  # the old key is gone
    response = invoke(agent_api, "search", status=500)
    assert "cannot be decrypted" in response.json()["detail"] and SECRET not in response.content.decode()
    assert upstream.requests == []


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_connect(agent_api, upstream, settings, monkeypatch):
    """DNS rebinding: the URL check sees a public address, the connection lands on 127.0.0.1."""
    import ipaddress
    import socket

    from .. import netguard

    settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = False
    port = int(upstream.url.rsplit(":", 1)[1])
    monkeypatch.setattr(netguard, "_resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1", *a, **k) if host == "rebind.example" else real(host, *a, **k))
    vault = make_vault(agent_api)
    credential = make_credential(agent_api, vault["id"], service="rb", metadata={"base_url": f"http://rebind.example:{port}"})
    make_grant(agent_api, credential["id"])
    response = invoke(agent_api, "rb", status=403)
    assert "Connected address 127.0.0.1 is blocked" in response.json()["detail"]
    assert upstream.requests == []


def test_a_concurrent_duplicate_idempotency_key_does_not_execute_twice(agent_api, upstream):
    """The duplicate arrives while the first call is still running (its claim exists, no
    outcome yet): 409, and the upstream is called once."""
    from ..models import IdempotencyClaim

    credential = rest_credential(agent_api, upstream)
    grant = make_grant(agent_api, credential["id"], scopes=["search"])
    from django.utils import timezone

    IdempotencyClaim.objects.create(grant_id=grant["id"], key="k2", created_at=timezone.now())
    response = invoke(agent_api, "search", status=409, idempotency_key="k2")
    assert "still in progress" in response.json()["detail"] and "lease" not in response.content.decode().lower()
    assert upstream.requests == []


def test_a_failed_call_frees_its_idempotency_key(agent_api, upstream, settings):
    from ..crypto import generate_key_line
    from ..models import IdempotencyClaim

    credential = rest_credential(agent_api, upstream)
    make_grant(agent_api, credential["id"], scopes=["search"])
    good_keys = list(settings.OPENINTENT_VAULT_KEYS)
    settings.OPENINTENT_VAULT_KEYS = [generate_key_line()]
    invoke(agent_api, "search", status=500, idempotency_key="k3")
    assert not IdempotencyClaim.objects.filter(key="k3").exists()
    settings.OPENINTENT_VAULT_KEYS = good_keys
    assert invoke(agent_api, "search", idempotency_key="k3").json()["status"] == "success"


def test_no_execution_config_replays_as_400(agent_api):
    vault = make_vault(agent_api)
    credential = make_credential(agent_api, vault["id"])
    make_grant(agent_api, credential["id"], scopes=["x"])
    invoke(agent_api, "x", status=400, idempotency_key="k4")
    invoke(agent_api, "x", status=400, idempotency_key="k4")
    assert ToolInvocation.objects.count() == 1
