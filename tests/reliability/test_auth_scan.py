"""Auth scan (issue 9): every route, found by walking Django's URL resolver and the Channels
stream routes, answers 401 in the protocol shape without a key and with a wrong key — except
the explicit public routes (discovery, the OpenAPI document and its pages, inbound trigger
webhooks, the admin's own login). With the ACL of RFC-0011 (11 §2) in place, every
intent-scoped route answers 403 to a principal the intent's closed ACL does not name."""

from __future__ import annotations

import json

import pytest
import requests

from conftest import DEV_KEY, make_client

from .figures import record
from .routes import Route, django_routes, example_request, stream_routes, websocket_handshake, websocket_routes

ROUTES, PROBLEMS = django_routes()
PROTECTED = [route for route in ROUTES if not route.public and not route.screen]
CASES = [(route, method) for route in PROTECTED for method in route.methods]
SCREENS = [route for route in ROUTES if route.screen]


def body_for(method: str):
    return {} if method in ("post", "put", "patch") else None


def call(client, route: Route, method: str, url: str | None = None):
    kwargs = {"format": "json"} if method in ("post", "put", "patch") else {}
    return getattr(client, method)(url or route.url, body_for(method), **kwargs)


def assert_401(response, label: str) -> None:
    assert response.status_code == 401, f"{label}: {response.status_code} {response.content[:300]!r}"
    assert response.json() == {"detail": "Invalid or missing API key"}, label


def test_every_url_pattern_could_be_turned_into_a_request():
    assert not PROBLEMS, "patterns the scan cannot fill (extend tests/reliability/routes.py):\n" + "\n".join(PROBLEMS)
    assert len(CASES) >= 30, "the resolver walk found suspiciously few routes"
    record("auth_scan", routes_walked=len(ROUTES), protected_routes=len(PROTECTED), protected_operations=len(CASES),
           session_screens=len(SCREENS))


@pytest.mark.parametrize("route, method", CASES, ids=[route.label(method) for route, method in CASES])
def test_route_answers_401_without_a_key_and_with_a_wrong_key(db, route, method):
    label = route.label(method)
    assert_401(call(make_client(api_key=None), route, method), f"{label} without a key")
    assert_401(call(make_client(api_key="wrong-key"), route, method), f"{label} with a wrong key")


def test_public_routes_need_no_key(db):
    public = [route for route in ROUTES if route.public and not route.url.startswith(("/admin/", "/webhooks/", "/static/", "/media/"))]
    assert {route.name for route in public} >= {"discovery", "openapi-schema"}
    for route in public:
        response = make_client(api_key=None).get(route.url)
        assert response.status_code == 200, (route.template, response.status_code)


def test_admin_asks_for_a_login_not_an_api_key(db):
    response = make_client(api_key=None).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("route", SCREENS, ids=[route.template for route in SCREENS])
def test_screens_for_humans_ask_for_a_login(db, route):
    """Pages outside /api (review screens) use Django's session login, like the admin: an
    anonymous visitor is sent to the login page (or refused), never served — an API key is
    no way in either."""
    for client in (make_client(api_key=None), make_client(api_key=DEV_KEY)):
        for method in route.methods:
            response = call(client, route, method)
            if route.login_page:
                assert response.status_code in (200, 302, 400, 403), (route.label(method), response.status_code)
                continue
            if response.status_code == 302:
                assert "login" in response["Location"], (route.label(method), response["Location"])
            else:
                assert response.status_code in (401, 403, 405), (route.label(method), response.status_code)


def test_the_wrong_key_gets_nothing_but_the_401(db):
    """The 401 body carries no data of the route: the same body on every route."""
    bodies = {json.dumps(make_client(api_key="wrong-key").get(route.url).json(), sort_keys=True)
              for route in PROTECTED if "get" in route.methods}
    assert bodies == {json.dumps({"detail": "Invalid or missing API key"})}


# --- stream routes (ASGI, Channels): over real HTTP -----------------------------------------

def test_stream_routes_answer_401_before_streaming(request):
    streams = stream_routes()
    if not streams:
        pytest.skip("no Channels stream routes registered in openintent_project.routing yet")
    base = request.getfixturevalue("live_server_url")
    for route in streams:
        for headers in ({}, {"X-API-Key": "wrong-key"}):
            with requests.get(base + route.url, headers=headers, stream=True, timeout=10) as response:
                assert response.status_code == 401, (route.template, headers, response.status_code)
                assert response.json()["detail"], route.template
    record("auth_scan", stream_routes=len(streams))
    if not acl_route_present():
        return
    # 11 §2: an intent's SSE stream needs read — an outsider of a closed ACL gets the 403
    # before any frame.
    owner = {"X-API-Key": DEV_KEY, "X-Agent-ID": "agent-owner"}
    intent = requests.post(f"{base}/api/v1/intents", json={"title": "closed stream"}, headers=owner, timeout=30).json()
    response = requests.put(f"{base}/api/v1/intents/{intent['id']}/acl", headers=owner, timeout=30, json={
        "default_policy": "closed", "entries": [{"principal_id": "agent-owner", "permission": "admin"}]})
    assert response.status_code == 200, response.text
    checked = 0
    for route in streams:
        if route.params.get("kind") != "intents" and "/intents/" not in route.template:
            continue
        target = next(name for name in route.params if name != "kind")
        url = route.url.replace(route.params[target], intent["id"])
        with requests.get(base + url, headers={"X-API-Key": DEV_KEY, "X-Agent-ID": OUTSIDER},
                          stream=True, timeout=10) as response:
            assert response.status_code == 403, (route.template, response.status_code)
        checked += 1
    record("auth_scan", acl_stream_routes_checked=checked)


def test_websocket_routes_refuse_a_missing_or_wrong_key(request):
    sockets = websocket_routes()
    if not sockets:
        pytest.skip("no Channels WebSocket routes registered in openintent_project.routing yet")
    base = request.getfixturevalue("live_server_url")
    for route in sockets:
        for headers in ({}, {"X-API-Key": "wrong-key"}):
            status, close_code = websocket_handshake(base, route.url, headers)
            # Refused at the handshake, or accepted and closed at once: never an open socket.
            assert status in (401, 403) or (status == 101 and close_code is not None), (route.template, headers, status)
        status, close_code = websocket_handshake(base, route.url, {"X-API-Key": DEV_KEY}, timeout=3)
        assert status == 101, (route.template, "a valid key is refused", status)
    record("auth_scan", websocket_routes=len(sockets))


# --- ACL: 403 to a principal without permission ----------------------------------------------

OUTSIDER = "agent-outsider"
# 11 §2: these intent-scoped routes need only authentication.
AUTHENTICATED_ONLY = ("/access-requests",)


def acl_route_present() -> bool:
    return any(route.template.endswith("/acl") and "put" in route.methods and route.intent_scoped for route in ROUTES)


def closed_intent(owner) -> str:
    intent = owner.post("/api/v1/intents", {"title": "closed"}, format="json").json()
    response = owner.put(
        f"/api/v1/intents/{intent['id']}/acl",
        {"default_policy": "closed", "entries": [{"principal_id": "agent-owner", "permission": "admin"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["default_policy"] == "closed"
    return intent["id"]


def test_intent_scoped_routes_answer_403_to_a_principal_without_permission(db):
    if not acl_route_present():
        pytest.skip("the ACL route PUT /api/v1/intents/{id}/acl (RFC-0011, governance) is not merged yet")
    owner = make_client(agent_id="agent-owner")
    outsider = make_client(agent_id=OUTSIDER)
    intent_id = closed_intent(owner)
    document = make_client(api_key=None).get("/openapi.json").json()
    scoped = [
        (route, method) for route, method in CASES
        if route.intent_scoped and not any(part in route.template for part in AUTHENTICATED_ONLY)
    ]
    failures, inconclusive = [], []
    for route, method in scoped:
        first_param = route.template.split("/")[4][1:-1]
        url = route.url.replace(route.params[first_param], intent_id, 1)
        kind, body = example_request(document, route, method)
        kwargs = {"format": kind} if kind else {}
        response = getattr(outsider, method)(url, body, HTTP_IF_MATCH="1", **kwargs)
        # A route with a sub-resource id may answer 404 for the (random) sub-resource; it
        # must never answer success or leak anything else. A list may filter instead of
        # refusing (11 §2 "lists that span intents"): then it must be empty.
        allowed = {403} if len(route.params) == 1 else {403, 404}
        if method == "get" and response.status_code == 200 and _empty(response.json()):
            continue
        if response.status_code == 400:
            # Input is validated before access (README order): a 400 reveals nothing, but it
            # proves nothing either unless the creator gets the same 400 for the same request
            # (the scan could not build a valid body for this route).
            replay = getattr(owner, method)(url, body, HTTP_IF_MATCH="1", **kwargs)
            if replay.status_code == 400:
                inconclusive.append(route.label(method))
                continue
        if response.status_code not in allowed:
            failures.append(f"{route.label(method)}: {response.status_code} {response.content[:200]!r}")
        elif response.status_code == 403:
            detail = response.json()["detail"]
            assert isinstance(detail, dict) and detail.get("error") == "forbidden", (route.label(method), detail)
    record("auth_scan", acl_operations_checked=len(scoped), acl_operations_proven_403=len(scoped) - len(inconclusive),
           acl_inconclusive=inconclusive)
    assert len(inconclusive) <= len(scoped) // 10, f"too many routes the scan cannot build a valid body for: {inconclusive}"
    assert not failures, "intent-scoped routes open to a principal outside a closed ACL:\n" + "\n".join(failures)
    # The owner still gets in.
    assert owner.get(f"/api/v1/intents/{intent_id}").status_code == 200


def _empty(body) -> bool:
    if isinstance(body, list):
        return not body
    if isinstance(body, dict):
        lists = [value for value in body.values() if isinstance(value, list)]
        return bool(lists) and not any(lists)
    return False


def test_a_valid_key_passes_authentication_on_every_route(db):
    """The other half of the proof: the 401s above come from the key, not from a broken
    route. With a valid key no route answers 401."""
    client = make_client(api_key=DEV_KEY, agent_id="agent-owner")
    for route, method in CASES:
        response = call(client, route, method)
        if getattr(response, "streaming", False):
            response.close()
            continue
        assert response.status_code != 401, route.label(method)
        assert response.status_code < 500, (route.label(method), response.content[:300])
