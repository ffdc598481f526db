"""Regression tests for what the reliability harness found (issue 9)."""

from __future__ import annotations

from conftest import make_client


def _document():
    return make_client(api_key=None).get("/openapi.json").json()


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_intent_list_is_documented_as_the_one_page_object_it_returns(api):
    """Found by the fuzzer: drf-spectacular documented the `list` action as an array of pages,
    so every client generated from the document mis-parsed GET /api/v1/intents."""
    document = _document()
    schema = document["paths"]["/api/v1/intents"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    schema = _resolve(document, schema)
    assert schema.get("type") == "object"
    assert {"intents", "total", "limit", "offset"} <= set(schema["properties"])
    body = api.get("/api/v1/intents").json()
    assert isinstance(body, dict) and set(body) == {"intents", "total", "limit", "offset"}
