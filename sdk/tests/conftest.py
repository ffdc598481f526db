"""SDK test fixtures. Live tests use the shared ``live_server_url`` (root conftest).

A test names the routes it exercises with ``@pytest.mark.requires_route("METHOD
/api/v1/path/{id}", ...)``. Against this project's server every route exists, so a route
missing from the live server's ``/openapi.json`` fails the test (a route lost in a refactor
must not turn into a silent skip). Against another server (``OPENINTENT_SDK_TEST_URL``, e.g.
the reference) such tests are skipped instead. Stream routes (``…/subscribe``) are Channels
consumers, outside the OpenAPI document, and always count as present.
"""

from __future__ import annotations

import os
import re

import pytest
import requests

from openintent_sdk import Client
from .sdk_testlib import DEV_KEY, unique



def pytest_configure(config):
    config.addinivalue_line("markers", "requires_route(*ops): the routes this test exercises (see module docstring)")


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


@pytest.fixture(scope="session")
def server_url(request) -> str:
    """The shared live server (root ``live_server_url``). ``OPENINTENT_SDK_TEST_URL`` points the
    SDK suite at an already running server instead (for trying the SDK against other servers)."""
    return os.environ.get("OPENINTENT_SDK_TEST_URL") or request.getfixturevalue("live_server_url")


@pytest.fixture(scope="session")
def openapi_operations(server_url) -> set[str]:
    schema = requests.get(f"{server_url}/openapi.json", timeout=30).json()
    ops = set()
    for path, item in schema.get("paths", {}).items():
        for method in item:
            if method.lower() in ("get", "post", "put", "patch", "delete"):
                ops.add(f"{method.upper()} {normalise(path)}")
    return ops


@pytest.fixture(autouse=True)
def _route_gate(request):
    marker = request.node.get_closest_marker("requires_route")
    if marker is None:
        return
    ops = request.getfixturevalue("openapi_operations")
    missing = []
    for op in marker.args:
        method, _, path = op.partition(" ")
        if path.rstrip("/").endswith("/subscribe"):
            continue
        if f"{method.upper()} {normalise(path)}" not in ops:
            missing.append(op)
    if not missing:
        return
    if os.environ.get("OPENINTENT_SDK_TEST_URL"):
        pytest.skip(f"route not served by this server: {', '.join(missing)}")
    pytest.fail(f"route missing from the server's OpenAPI document: {', '.join(missing)}")


@pytest.fixture
def agent_id() -> str:
    return unique("sdk-agent")


@pytest.fixture
def client(server_url, agent_id) -> Client:
    c = Client(server_url, DEV_KEY, agent_id, timeout=20, retries=2)
    yield c
    c.close()


@pytest.fixture
def operator_client(server_url) -> Client:
    c = Client(server_url, "operator-key", unique("operator"), timeout=20, retries=2)
    yield c
    c.close()


@pytest.fixture
def intent(client):
    return client.intents.create(unique("Intent"), description="sdk test", state={"n": 0})
