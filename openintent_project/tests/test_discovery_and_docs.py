"""Discovery documents are public; the OpenAPI document and its viewers work offline."""

import json

from conftest import make_client


def test_discovery_documents_need_no_key(db):
    client = make_client(api_key=None)
    discovery = client.get("/.well-known/openintent.json").json()
    assert discovery["protocol"] == "OpenIntent Coordination Protocol"
    assert discovery["openApiUrl"] == "/openapi.json"
    compat = client.get("/.well-known/openintent-compat.json").json()
    assert compat["features"]["intents"] is True
    assert client.get("/api/v1/server/config").json() == {"protocol_version": "0.1", "suspension": {"default_retry_policy": None}}


def test_openapi_document_has_stable_operation_ids(db):
    response = make_client(api_key=None).get("/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation_ids = [op["operationId"] for path in schema["paths"].values() for op in path.values() if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert "intents_state_patch" in operation_ids
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def test_swagger_and_redoc_use_local_assets(db):
    client = make_client(api_key=None)
    for url in ("/docs", "/redoc"):
        page = client.get(url).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_cors_preflight_is_allowed(db):
    response = make_client(api_key=None).options(
        "/api/v1/intents", HTTP_ORIGIN="https://dash.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://dash.example"
