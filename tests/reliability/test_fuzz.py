"""Property-based fuzzing of every operation in our own OpenAPI document (issue 9).

Schemathesis reads ``/openapi.json`` from the app itself, so a route merged later is fuzzed
without touching this file. Each operation is driven twice: with a valid API key (positive
and negative data: schema-valid and schema-violating bodies, queries, headers and paths) and
with no key at all. Every response must

* never be a 5xx,
* match its documented status codes, content type and JSON schema (schemathesis' conformance
  checks),
* be a protocol error body when it is an error: a top-level ``detail``; for 400 a ``detail``
  list of pydantic-style items plus ``message`` and ``errors`` (README §4),
* be 401 when no key was sent, on every operation that declares a security requirement.

Why in-process (WSGI) rather than the live server: on this 2-core machine a request through
daphne costs 10–30 ms against ~2 ms in-process, and the fuzzer needs thousands of them. The
in-process path runs the same middleware, authentication, DRF views, services and exception
handler as production; only the ASGI adapter differs, and that is exercised over real HTTP by
the auth scan, the fault-injection and the soak tests in this folder. In-process, a crash
also comes back with its traceback and each operation runs in a rolled-back transaction.

Budget: ``OPENINTENT_FUZZ_EXAMPLES`` random examples per operation and key mode (default 10),
plus the examples the document itself carries. ``OPENINTENT_FUZZ_COVERAGE=1`` adds
schemathesis' coverage phase (every boundary and type-violation case the schema implies; about
50 more requests per operation — a deeper nightly run). ``OPENINTENT_FUZZ_DERANDOMIZE=0``
explores new random inputs on each run (default: a fixed seed, so CI is reproducible).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from conftest import DEV_KEY, make_client

from .figures import add, record

FUZZ_EXAMPLES = int(os.environ.get("OPENINTENT_FUZZ_EXAMPLES", "10"))
FUZZ_COVERAGE = os.environ.get("OPENINTENT_FUZZ_COVERAGE", "0") == "1"
DERANDOMIZE = os.environ.get("OPENINTENT_FUZZ_DERANDOMIZE", "1") != "0"

# Stream routes (text/event-stream) hold the connection open by design; in-process WSGI would
# wait forever. They are covered by the auth scan and by their own live tests.
STREAM_MEDIA_TYPE = "text/event-stream"

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
schema.config.phases.coverage.enabled = FUZZ_COVERAGE

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def is_stream(operation) -> bool:
    for response in (operation.definition.raw.get("responses") or {}).values():
        if STREAM_MEDIA_TYPE in (response.get("content") or {}):
            return True
    return False


def requires_key(operation) -> bool:
    raw = operation.definition.raw
    security = raw.get("security", operation.schema.raw_schema.get("security"))
    return bool(security) and {} not in security


# --- existing objects for path parameters ------------------------------------------------------

# UUIDs of objects that exist, collected from the seeding responses. Path parameters that
# are UUIDs are drawn from these half of the time, so the fuzzer gets past the 404 into the
# route's real logic — on every route, whatever its parameter is called.
KNOWN_IDS: list[str] = []
KNOWN_AGENT = "agent-owner"


def _collect_uuids(node, found: set[str]) -> None:
    if isinstance(node, dict):
        for value in node.values():
            _collect_uuids(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_uuids(value, found)
    elif isinstance(node, str):
        try:
            found.add(str(uuid.UUID(node)))
        except ValueError:
            pass


def seed_objects() -> list[str]:
    """An intent family with an event, a dependency, an assignment, an attachment and a
    portfolio, created through the API as agent-owner."""
    api = make_client(agent_id=KNOWN_AGENT)
    found: set[str] = set()

    def post(path, body, **kwargs):
        response = api.post(path, body, format=kwargs.pop("format", "json"), **kwargs)
        if response.status_code < 300 and response.content:
            _collect_uuids(response.json(), found)
        return response

    parent = post("/api/v1/intents", {"title": "fuzz parent", "state": {"a": 1}}).json()
    child = post(f"/api/v1/intents/{parent['id']}/children", {"title": "fuzz child"}).json()
    other = post("/api/v1/intents", {"title": "fuzz other"}).json()
    post(f"/api/v1/intents/{child['id']}/dependencies", {"dependency_id": other["id"]}, HTTP_IF_MATCH="1")
    post(f"/api/v1/intents/{parent['id']}/events", {"event_type": "comment", "actor": KNOWN_AGENT, "payload": {"n": 1}})
    post(f"/api/v1/intents/{parent['id']}/agents", {"agent_id": KNOWN_AGENT})
    from django.core.files.uploadedfile import SimpleUploadedFile

    post(
        f"/api/v1/intents/{parent['id']}/attachments",
        {"file": SimpleUploadedFile("a.txt", b"hello", content_type="text/plain"), "filename": "a.txt"},
        format="multipart",
    )
    portfolio = post("/api/v1/portfolios", {"name": "fuzz portfolio", "created_by": KNOWN_AGENT}).json()
    if "id" in portfolio:
        post(f"/api/v1/portfolios/{portfolio['id']}/intents", {"intent_id": parent["id"]})
    assert len(found) >= 6, f"seeding failed: {found}"
    return sorted(found)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters or not KNOWN_IDS:
        return st.just(path_parameters)
    choices = {}
    for name, value in path_parameters.items():
        if name.endswith("id") and name != "agent_id":
            choices[name] = st.sampled_from([value, *KNOWN_IDS])
        elif name == "agent_id":
            choices[name] = st.sampled_from([value, KNOWN_AGENT])
        else:
            choices[name] = st.just(value)
    return st.fixed_dictionaries(choices)


# --- the protocol's error shape ------------------------------------------------------------------

def protocol_error_problems(status: int, body) -> list[str]:
    if status < 400:
        return []
    if not isinstance(body, dict) or "detail" not in body:
        return [f"{status} body has no top-level detail: {body!r:.300}"]
    if status == 400 and isinstance(body["detail"], list):
        problems = []
        if not isinstance(body.get("message"), str) or not body["message"]:
            problems.append("400 body without a message string")
        if body.get("errors") != body["detail"]:
            problems.append("400 body whose errors differ from detail")
        for item in body["detail"]:
            if not (isinstance(item, dict) and {"type", "loc", "msg"} <= set(item) and isinstance(item["loc"], list)):
                problems.append(f"400 item not pydantic-style: {item!r:.200}")
        return problems
    if status == 400 and not isinstance(body["detail"], str):
        return [f"400 detail neither a list of items nor a string: {body['detail']!r:.200}"]
    if status == 400 and not isinstance(body.get("message"), str):
        return ["400 body without a message string"]
    return []


def assert_protocol_error(response) -> None:
    if response.status_code < 400:
        return
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:300]!r}") from None
    problems = protocol_error_problems(response.status_code, body)
    assert not problems, problems


# --- the tests -----------------------------------------------------------------------------

@pytest.fixture
def known_objects(db):
    KNOWN_IDS[:] = seed_objects()
    yield KNOWN_IDS
    KNOWN_IDS.clear()


def _call(case, headers):
    response = case.call(headers=headers)
    add("fuzzing", "examples")
    add("fuzzing", f"status_{response.status_code // 100}xx")
    return response


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_a_valid_key(case, known_objects):
    if is_stream(case.operation):
        pytest.skip("stream route: covered by the auth scan and its live tests")
    _count_operation(case, "operations_with_key")
    response = _call(case, {"X-API-Key": DEV_KEY, "X-Agent-ID": KNOWN_AGENT})
    case.validate_response(response, checks=CHECKS)
    assert_protocol_error(response)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_without_a_key(case, db):
    if is_stream(case.operation):
        pytest.skip("stream route: covered by the auth scan and its live tests")
    _count_operation(case, "operations_without_key")
    headers = {name: value for name, value in (case.headers or {}).items() if name.lower() != "x-api-key"}
    case.headers = headers
    response = _call(case, None)
    case.validate_response(response, checks=CHECKS)
    assert_protocol_error(response)
    if requires_key(case.operation):
        # Malformed input may be rejected before authentication (a 400 for unparsable JSON
        # reveals nothing); anything else must be the 401.
        assert response.status_code in (400, 401, 413), (response.status_code, response.content[:300])
        if response.status_code != 400:
            assert response.status_code == 401


_seen: set[tuple[str, str]] = set()


def _count_operation(case, counter: str) -> None:
    """Count each operation once per key mode, for the figures."""
    key = (case.operation.label, counter)
    if key not in _seen:
        _seen.add(key)
        add("fuzzing", counter)
        record("fuzzing", examples_per_operation_setting=FUZZ_EXAMPLES, coverage_phase=FUZZ_COVERAGE)
