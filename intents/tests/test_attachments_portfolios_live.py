"""Interop: the official client (openintent 0.17.0) against a live server, for attachments
(05) and portfolios (07); plus the content routes over plain HTTP."""

import asyncio
import base64
import hashlib

import pytest
import requests
from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent.exceptions import NotFoundError, OpenIntentError
from openintent.models import IntentStatus, MembershipRole, PortfolioStatus

pytestmark = pytest.mark.live


@pytest.fixture
def client(live_server_url):
    with OpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="agent-x") as c:
        yield c


def test_official_client_attachments(client):
    intent = client.create_intent("With attachments")
    added = client.add_attachment(
        intent.id, filename="r.pdf", mime_type="application/pdf", size=10, storage_url="s3://b/r.pdf",
        metadata={"pages": 2},
    )
    assert added.uploaded_by == "agent-x" and added.metadata == {"pages": 2}
    listed = client.get_attachments(intent.id)
    assert [a.id for a in listed] == [added.id]
    client.delete_attachment(intent.id, added.id)
    assert client.get_attachments(intent.id) == []
    with pytest.raises(NotFoundError):
        client.delete_attachment(intent.id, added.id)


def test_async_client_add_attachment_body(live_server_url, client):
    intent = client.create_intent("Async")

    async def run():
        async with AsyncOpenIntentClient(live_server_url, api_key="dev-user-key", agent_id="agent-a") as c:
            added = await c.add_attachment(intent.id, filename="a.png", content_type="image/png", url="https://x/a.png")
            listed = await c.get_attachments(intent.id)
            await c.delete_attachment(intent.id, added.id)
            return added, listed

    added, listed = asyncio.run(run())
    assert (added.mime_type, added.storage_url, added.size) == ("image/png", "https://x/a.png", 0)
    assert [a.id for a in listed] == [added.id]


def test_content_round_trip_over_http(live_server_url, client):
    intent = client.create_intent("Content")
    headers = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-x"}
    base = f"{live_server_url}/api/v1/intents/{intent.id}/attachments"
    payload = bytes(range(256)) * 12288  # 3 MiB: past Django's in-memory upload limits
    digest = hashlib.sha256(payload).hexdigest()

    by_json = requests.post(base, json={"filename": "a.bin", "content_type": "application/octet-stream",
                                        "content_base64": base64.b64encode(payload).decode()}, headers=headers).json()
    by_form = requests.post(base, files={"file": ("b.bin", payload, "application/x-b")}, headers=headers).json()
    for item in (by_json, by_form):
        assert item["sha256"] == digest and item["size"] == len(payload)
        download = requests.get(item["storage_url"], headers=headers)
        assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == digest
        assert requests.get(item["storage_url"]).status_code == 401
    # The official client lists content attachments like any other.
    assert {a.id for a in client.get_attachments(intent.id)} == {by_json["id"], by_form["id"]}
    client.delete_attachment(intent.id, by_json["id"])
    assert requests.get(by_json["storage_url"], headers=headers).status_code == 404


def test_malformed_multipart_upload_gets_the_protocol_error(live_server_url, client):
    """The web processes leave form parsing to Django (openintent_project.web): a broken
    multipart body gets the protocol's 400 body, not a bare page from Twisted, and the
    connection stays usable."""
    intent = client.create_intent("Broken upload")
    with requests.Session() as session:
        session.headers.update({"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-x"})
        # No boundary: not multipart at all (Twisted answered this with a bare 400 and hung up).
        response = session.post(f"{live_server_url}/api/v1/intents/{intent.id}/attachments",
                                data=b"just bytes", headers={"Content-Type": "multipart/form-data"})
        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("application/json")
        assert "detail" in response.json()
        assert session.get(f"{live_server_url}/api/v1/intents/{intent.id}/attachments").status_code == 200
    assert client.get_attachments(intent.id) == []


def test_official_client_portfolios(client):
    portfolio = client.create_portfolio("Launch", governance_policy={"require_all_completed": True})
    assert portfolio.description == "" and portfolio.status == PortfolioStatus.ACTIVE
    a = client.create_intent("a")
    b = client.create_intent("b")
    membership = client.add_intent_to_portfolio(portfolio.id, a.id, role=MembershipRole.PRIMARY, priority=10)
    assert membership.intent_id == a.id and membership.role == MembershipRole.PRIMARY and membership.priority == 10
    again = client.add_intent_to_portfolio(portfolio.id, a.id, priority=1)
    assert again.id == membership.id and again.priority == 1
    client.add_intent_to_portfolio(portfolio.id, b.id)

    fetched = client.get_portfolio(portfolio.id)
    assert fetched.aggregate_status.total == 2
    assert [i.id for i in fetched.intents] == [a.id, b.id]
    assert portfolio.id in [p.id for p in client.list_portfolios(created_by="agent-x")]
    intents, _ = client.get_portfolio_intents(portfolio.id)
    assert [i.id for i in intents] == [a.id, b.id]
    assert [p.id for p in client.get_intent_portfolios(a.id)] == [portfolio.id]

    # require_all_completed takes effect.
    with pytest.raises(OpenIntentError) as refused:
        client.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
    assert refused.value.status_code == 403
    client.remove_intent_from_portfolio(portfolio.id, b.id)
    current = client.get_intent(a.id)
    client.set_status(a.id, current.version, IntentStatus.COMPLETED)
    done = client.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
    assert done.status == PortfolioStatus.COMPLETED
    assert client.get_portfolio(portfolio.id).aggregate_status.completion_percentage == 100
    with pytest.raises(NotFoundError):
        client.remove_intent_from_portfolio(portfolio.id, b.id)
