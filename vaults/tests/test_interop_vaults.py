"""The official client's RFC-0014 methods against a live server (two web processes, so the
per-grant rate limit is shared through the database), a Celery worker and beat (the expiry
sweep runs every second here). The server allows loopback tool
destinations because the upstream service of these tests runs on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from openintent import OpenIntentClient
from openintent.exceptions import OpenIntentError, ValidationError
from openintent.models import ToolGrant

from openintent_project.testing import LiveServer

pytestmark = pytest.mark.live

SECRET = "sk-interop-secret"


@pytest.fixture(scope="module")
def vault_server():
    env = {"OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS": "true", "OPENINTENT_VAULT_EXPIRY_SECONDS": "1"}
    with LiveServer(web_processes=2, worker=True, beat=True, env=env) as server:
        yield server.url


@pytest.fixture
def client(vault_server):
    with OpenIntentClient(vault_server, api_key="dev-user-key", agent_id="agent-x") as c:
        yield c


def test_client_vault_credential_grant_and_invocation_methods(client):
    vault = client.create_vault(owner_id="agent-x", name="interop")
    assert client.get_vault(vault["id"])["name"] == "interop"

    credential = client.create_credential(
        vault["id"], "search-api", "Search", scopes_available=["search", "fetch"],
        metadata={"base_url": "https://api.example.com"}, secret={"api_key": SECRET},
    )
    fetched = client.get_credential(credential["id"])
    assert SECRET not in json.dumps(credential) + json.dumps(fetched)
    assert fetched["secret_fields"] == ["api_key"]
    assert client.get_vault(vault["id"])["credentials"] == [credential["id"]]

    grant = client.create_tool_grant(credential["id"], "agent-x", "owner", scopes=["search"],
                                     constraints={"max_invocations_per_hour": 5})
    assert isinstance(grant, ToolGrant) and grant.scopes == ["search"]
    assert grant.constraints.max_invocations_per_hour == 5
    assert client.get_tool_grant(grant.id).id == grant.id
    assert [g.id for g in client.list_agent_grants("agent-x")] == [grant.id]

    recorded = client.record_invocation(grant.id, "search-api", "search", "agent-x", parameters={"q": "x"})
    assert recorded["invocation_id"] == recorded["id"]
    assert [i["id"] for i in client.list_invocations(grant.id)] == [recorded["id"]]

    assert client.revoke_grant(grant.id) == {"status": "revoked", "grant_id": grant.id}
    assert client.get_tool_grant(grant.id).status.value == "revoked"


def test_client_invoke_tool_reaches_the_upstream_with_the_secret(client, upstream):
    upstream.reply = (200, {"answer": 42})
    vault = client.create_vault(owner_id="agent-x", name="invoke")
    credential = client.create_credential(
        vault["id"], "calc", "Calc", metadata={
            "base_url": upstream.url, "endpoints": {"add": {"path": "/add"}},
            "auth": {"header_name": "X-Key"},
        }, secret={"api_key": SECRET},
    )
    client.create_tool_grant(credential["id"], "agent-x", "owner", scopes=["add"],
                             constraints={"max_invocations_per_hour": 10})
    result = client.invoke_tool("add", "agent-x", parameters={"a": 1, "b": 2})
    assert result["status"] == "success" and result["result"] == {"answer": 42}
    assert upstream.requests[-1]["headers"]["X-Key"] == SECRET
    assert json.loads(upstream.requests[-1]["body"]) == {"a": 1, "b": 2}

    # Ten per window across two web processes: calls 2..10 pass, the 11th is 429.
    for _ in range(9):
        assert client.invoke_tool("add", "agent-x")["status"] == "success"
    with pytest.raises(OpenIntentError) as refused:
        client.invoke_tool("add", "agent-x")
    assert refused.value.status_code == 429
    assert len(upstream.requests) == 10


def test_client_invoke_tool_without_execution_config_raises_validation_error(client):
    vault = client.create_vault(owner_id="agent-x", name="bare")
    credential = client.create_credential(vault["id"], "bare-svc", "Bare", secret={"api_key": SECRET})
    client.create_tool_grant(credential["id"], "agent-x", "owner", scopes=["do"])
    with pytest.raises(ValidationError) as error:
        client.invoke_tool("do", "agent-x")
    assert str(error.value) == "credential has no execution configuration" or "credential has no execution configuration" in str(error.value)


def test_client_may_not_invoke_for_another_agent(client):
    with pytest.raises(OpenIntentError) as error:
        client.invoke_tool("anything", "agent-someone-else")
    assert error.value.status_code == 403


def concurrent_calls(url: str, tool: str, count: int) -> list[int]:
    import concurrent.futures

    import requests

    def one(_):
        return requests.post(f"{url}/api/v1/tools/invoke", json={"tool_name": tool, "agent_id": "agent-x"},
                             headers={"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-x"}, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def test_rate_limit_holds_under_concurrent_calls_across_processes(vault_server, client, upstream):
    vault = client.create_vault(owner_id="agent-x", name="race")
    credential = client.create_credential(vault["id"], "race-svc", "Race", metadata={"base_url": upstream.url})
    client.create_tool_grant(credential["id"], "agent-x", "owner", scopes=["race"],
                             constraints={"max_invocations_per_hour": 6})
    statuses = concurrent_calls(vault_server, "race", 16)
    assert sorted(statuses) == [200] * 6 + [429] * 10
    assert len(upstream.requests) == 6


def test_beat_expires_a_grant_on_time(client):
    import time
    from datetime import datetime, timedelta, timezone

    vault = client.create_vault(owner_id="agent-x", name="expiry")
    credential = client.create_credential(vault["id"], "exp-svc", "Exp")
    expires = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    grant = client.create_tool_grant(credential["id"], "agent-x", "owner", scopes=["x"], expires_at=expires)
    assert grant.status.value == "active"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if client.get_tool_grant(grant.id).status.value == "expired":
            return
        time.sleep(0.5)
    pytest.fail("beat did not expire the grant")
