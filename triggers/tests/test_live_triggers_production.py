"""Production mode (PostgreSQL + Redis, real worker and beat): a schedule fires on time once,
and an event trigger fires from a committed event."""

from datetime import datetime, timedelta, timezone

import pytest
import requests

from openintent_project.testing import LiveServer

from .test_live_triggers import KEY, parse, wait_for

pytestmark = [pytest.mark.production, pytest.mark.live]


def test_schedules_and_events_fire_in_production_mode(production_database, production_redis_url):
    env = {"TRIGGERS_TICK_SECONDS": "1"}
    with LiveServer(web_processes=1, worker=True, beat=True, database_url=production_database.url,
                    redis_url=production_redis_url, env=env) as server:
        def call(method, path, **kwargs):
            return requests.request(method, f"{server.url}{path}", headers={**KEY, **kwargs.pop("headers", {})}, timeout=10, **kwargs)

        def made_by(trigger_id):
            intents = call("GET", "/api/v1/intents?limit=1000").json()["intents"]
            return [i for i in intents if (i["state"].get("_trigger") or {}).get("trigger_id") == trigger_id]

        at = datetime.now(timezone.utc) + timedelta(seconds=4)
        once = call("POST", "/api/v1/triggers", json={"name": "once", "type": "schedule", "at": at.isoformat(),
                                                     "template": {"title": "pg one-shot"}}).json()
        on_create = call("POST", "/api/v1/triggers", json={
            "name": "follow", "type": "event", "event_type": "intent_created", "dedup": "skip",
            "condition": {"filter": {"title": "pg source"}}, "intent_template": {"type": "follow", "title": "follow-up"},
        })
        assert on_create.status_code == 200, on_create.text
        on_create = on_create.json()
        call("POST", "/api/v1/intents", json={"title": "pg source"})

        fired = wait_for(lambda: made_by(once["trigger_id"]), timeout=30)
        assert len(fired) == 1, server.log()
        assert 0 <= (parse(fired[0]["created_at"]) - at).total_seconds() < 5
        follow = wait_for(lambda: made_by(on_create["trigger_id"]), timeout=20)
        assert [i["title"] for i in follow] == ["follow-up"], server.log()
        assert call("GET", f"/api/v1/triggers/{once['trigger_id']}").json()["enabled"] is False
