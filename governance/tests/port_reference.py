"""Regenerate the ported reference tests (run once; output is committed):

    .venv/bin/python governance/tests/port_reference.py

Takes the reference's own HTTP tests for the routes this app serves
(openintent 0.17.0 sdist: tests/test_server_governance.py and the TestAccessControl class of
tests/test_server.py), replaces their FastAPI TestClient fixture with the adapter in
``governance/tests/conftest.py`` (``reference_client``: the same ``.get/.post/...(path,
json=, headers=)`` calls against our Django app), and applies the deviations the spec
accepts (protocol README §0.1: 400 instead of 422 for the PUT /governance value checks)."""

import re
import sys
from pathlib import Path

SDIST = Path("/tmp/ref/sdist/openintent-0.17.0/tests")
HERE = Path(__file__).parent

FIXTURE = re.compile(r"    @pytest\.fixture\n    def client\(self\):\n.*?os\.unlink\(db_path\)\n", re.S)
HEADER = '''"""PORTED from the reference's own HTTP tests ({source}); regenerate with
governance/tests/port_reference.py. Deviations (protocol README §0.1) are marked DEVIATION."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(reference_client):
    return reference_client

'''


COSTS = '''
def _costs_route_present() -> bool:
    from django.urls import resolve

    from openintent_project.api import discovery

    match = resolve("/api/v1/intents/00000000-0000-0000-0000-000000000000/costs")
    return match.func is not discovery.not_found


requires_costs_route = pytest.mark.skipif(
    not _costs_route_present(), reason="POST /intents/{id}/costs (09) is built by another helper"
)

'''


def port(text: str, source: str) -> str:
    text = FIXTURE.sub("", text)
    text = re.sub(r'^""".*?"""\n', "", text, count=1, flags=re.S)
    text = re.sub(r"^(import os|import tempfile|import pytest|from openintent\.server\.config import ServerConfig)\n", "", text, flags=re.M)
    # DEVIATION (README §0.1): value checks on PUT /governance answer 400, not 422.
    text = text.replace(
        "assert resp.status_code == 422",
        "assert resp.status_code == 400  # DEVIATION README §0.1 (REF: 422)",
    )
    # The cost route (09) is built by another helper: skip until it is merged.
    text = text.replace("    def test_max_cost", "    @requires_costs_route\n    def test_max_cost")
    header = HEADER.format(source=source)
    if "@requires_costs_route" in text:
        header += COSTS
    return header + text.lstrip("\n")


def main() -> None:
    gov = (SDIST / "test_server_governance.py").read_text()
    (HERE / "test_reference_governance.py").write_text(port(gov, "tests/test_server_governance.py"))
    server = (SDIST / "test_server.py").read_text()
    start = server.index("class TestAccessControl")
    nxt = re.search(r"^class ", server[start + 10 :], flags=re.M)
    acl = server[start : start + 10 + nxt.start()] if nxt else server[start:]
    (HERE / "test_reference_acl.py").write_text(port(acl, "tests/test_server.py::TestAccessControl"))


if __name__ == "__main__":
    sys.exit(main())
