"""The examples run against a live server (each gated on the routes it uses)."""

from __future__ import annotations

import pytest

from .sdk_testlib import DEV_KEY, load_example

pytestmark = pytest.mark.live


def test_basic_lifecycle_example(server_url, capsys):
    out = load_example("basic_lifecycle").main(server_url, DEV_KEY)
    assert out["intent"].status == "completed" and out["intent"].state["progress"] == 100
    assert {"intent_created", "state_patched", "comment", "status_changed"} <= {e.event_type for e in out["events"]}
    assert "completed at version" in capsys.readouterr().out


@pytest.mark.requires_route("POST /api/v1/portfolios", "POST /api/v1/portfolios/{id}/intents",
                            "GET /api/v1/portfolios/{id}/intents", "GET /api/v1/portfolios/{id}",
                            "GET /api/v1/intents/{id}/portfolios")
def test_portfolio_example(server_url):
    out = load_example("portfolio").main(server_url, DEV_KEY)
    assert len(out["members"]) == 3
    assert sorted(i.status for i in out["members"]) == ["completed", "completed", "draft"]
    assert out["portfolio"].metadata == {"team": "growth"}


@pytest.mark.requires_route("POST /api/v1/intents/{id}/leases", "DELETE /api/v1/intents/{id}/leases/{lease_id}",
                            "PATCH /api/v1/intents/{id}/leases/{lease_id}")
def test_readme_snippet_runs(server_url, capsys):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## A runnable snippet", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code.replace("http://127.0.0.1:8000", server_url), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("completed 4 ")
    assert "'state_patched'" in out and "'comment'" in out
