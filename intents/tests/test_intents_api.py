"""RFC-0001 intents over the API: create, read, list, errors."""

import pytest

from conftest import make_client


def create(api, **body):
    response = api.post("/api/v1/intents", {"title": "Research", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_create_returns_the_intent_with_version_1_and_both_parent_keys(api):
    intent = create(api, description="d", state={"a": 1})
    assert intent["version"] == 1
    assert intent["status"] == "draft"
    assert intent["created_by"] == "agent-owner"
    assert intent["parent_id"] is None and intent["parent_intent_id"] is None
    assert intent["state"] == {"a": 1}
    assert "Z" not in intent["created_at"] and "+" not in intent["created_at"]


def test_missing_key_is_401_with_protocol_body(db):
    response = make_client(api_key=None).get("/api/v1/intents")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or missing API key"}


def test_wrong_key_is_401(db):
    assert make_client(api_key="wrong").get("/api/v1/intents").status_code == 401


def test_without_agent_header_the_key_is_the_principal(db):
    intent = create(make_client())
    assert intent["created_by"] == "dev-user-key"


@pytest.mark.parametrize(
    "body, loc",
    [
        ({}, ["body", "title"]),
        ({"title": 5}, ["body", "title"]),
        ({"title": "x", "description": None}, ["body", "description"]),
        ({"title": "x", "constraints": []}, ["body", "constraints"]),
        ({"title": "x", "status": "flying"}, ["body", "status"]),
        ({"title": "x", "depends_on": "nope"}, ["body", "depends_on"]),
    ],
)
def test_invalid_create_bodies_are_400_with_items(api, body, loc):
    response = api.post("/api/v1/intents", body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["errors"] == data["detail"]
    assert data["detail"][0]["loc"] == loc
    assert data["message"]


def test_malformed_json_is_400_even_without_a_key(db):
    response = make_client(api_key=None).post("/api/v1/intents", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_non_object_body_is_400(api):
    response = api.post("/api/v1/intents", [1, 2], format="json")
    assert response.status_code == 400


def test_body_over_the_limit_is_413(api, settings):
    settings.OPENINTENT_MAX_BODY_BYTES = 100
    response = api.post("/api/v1/intents", {"title": "x" * 200}, format="json")
    assert response.status_code == 413


def test_unknown_parent_is_404(api):
    response = api.post("/api/v1/intents", {"title": "x", "parent_intent_id": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Parent intent not found"


def test_depends_on_is_stored(api):
    intent = create(api, depends_on=["a", "b"])
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["depends_on"] == ["a", "b"]


def test_get_unknown_or_malformed_id_is_404(api):
    for intent_id in ("nonexistent-id", "0b7c2f3e-0000-4000-8000-000000000000"):
        response = api.get(f"/api/v1/intents/{intent_id}")
        assert response.status_code == 404
        assert response.json()["detail"] == "Intent not found"


def test_unknown_route_and_wrong_method(api):
    assert api.get("/api/v1/nothing-here").json() == {"detail": "Not Found"}
    response = api.delete("/api/v1/intents")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_list_is_paged_newest_first_and_filters(api):
    first = create(api)
    second = create(api, status="active")
    page = api.get("/api/v1/intents?limit=1").json()
    assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == 0
    assert [i["id"] for i in page["intents"]] == [second["id"]]
    active = api.get("/api/v1/intents?status=active").json()
    assert [i["id"] for i in active["intents"]] == [second["id"]]
    assert api.get("/api/v1/intents?offset=1").json()["intents"][0]["id"] == first["id"]


@pytest.mark.parametrize("query", ["status=flying", "limit=0", "limit=1001", "offset=-1", "limit=abc"])
def test_list_rejects_bad_query(api, query):
    response = api.get(f"/api/v1/intents?{query}")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_list_issues_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for _ in range(5):
        create(api, depends_on=["x"])
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/v1/intents").json()["intents"]) == 5


def test_the_hot_routes_answer_exactly_as_drf_responses_do(api):
    """Read, create and append build their response directly (``json_response``): same body
    encoding and the same headers as the DRF-rendered routes."""
    intent = create(api, state={"t": "ü"})
    read = api.get(f"/api/v1/intents/{intent['id']}")
    appended = api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "note", "actor": "a", "payload": {}}, format="json")
    listed = api.get("/api/v1/intents")  # still a DRF Response
    drf_headers = {name for name, _ in listed.items()} - {"Content-Length"}
    for response in (read, appended):
        assert {name for name, _ in response.items()} - {"Content-Length", "ETag"} == drf_headers
        assert response["Content-Type"] == "application/json"
    assert read["ETag"] == '"1"' and read["Allow"] == "GET, HEAD, OPTIONS"
    assert read.content.startswith(b'{"id":') and "ü".encode() in read.content  # compact UTF-8
    assert appended.json()["sequence"] == 2
