"""Fixtures shared by every app's tests: personas, API clients, live servers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from openintent_project.api.principal import Principal
from openintent_project.testing import LiveServer, PostgresDatabase, production_services_available, redis_test_url

DEV_KEY = "dev-user-key"
OPERATOR_KEY = "operator-key"

_production = {"checked": False, "ok": False, "reason": ""}


def production_status() -> tuple[bool, str]:
    if not _production["checked"]:
        _production["ok"], _production["reason"] = production_services_available()
        _production["checked"] = True
    return _production["ok"], _production["reason"]


def pytest_collection_modifyitems(config, items):
    ok, reason = production_status()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"production-mode test skipped: {reason}")
    for item in items:
        if "production" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    ok, reason = production_status()
    if ok:
        terminalreporter.write_line("production-mode tests ran against PostgreSQL and Redis on localhost")
    else:
        terminalreporter.write_line(f"production-mode tests were SKIPPED: {reason}", yellow=True, bold=True)


# --- personas -----------------------------------------------------------------------------

@pytest.fixture
def owner() -> Principal:
    return Principal(id="agent-owner", api_key=DEV_KEY, agent_header=True)


@pytest.fixture
def other_agent() -> Principal:
    return Principal(id="agent-other", api_key=DEV_KEY, agent_header=True)


@pytest.fixture
def operator() -> Principal:
    return Principal(id="operator", api_key=OPERATOR_KEY, is_operator=True)


def make_client(api_key: str | None = DEV_KEY, agent_id: str | None = None) -> APIClient:
    client = APIClient()
    headers = {}
    if api_key is not None:
        headers["HTTP_X_API_KEY"] = api_key
    if agent_id is not None:
        headers["HTTP_X_AGENT_ID"] = agent_id
    client.credentials(**headers)
    return client


@pytest.fixture
def api(db) -> APIClient:
    """An API client for agent-owner with the dev key."""
    return make_client(agent_id="agent-owner")


@pytest.fixture
def api_as(db):
    return make_client


# --- live servers -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_server_url():
    """One shared live server for interop tests: two daphne processes on SQLite, with a
    Celery worker and beat."""
    with LiveServer(web_processes=2, worker=True, beat=True) as server:
        yield server.url


@pytest.fixture
def production_database():
    database = PostgresDatabase()
    yield database
    database.drop()


@pytest.fixture
def production_redis_url() -> str:
    return redis_test_url()
