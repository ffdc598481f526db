"""Production mode (PostgreSQL + Redis): lifecycle, memory and plans through the official
client, racing registrations, and the beat-driven health sweep."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openintent import OpenIntentClient
from openintent.exceptions import NotFoundError
from openintent.models import PlanState

from openintent_project.testing import LiveServer

pytestmark = [pytest.mark.production, pytest.mark.live]


def test_production_agents_memory_and_plans(production_database, production_redis_url):
    env = {"OPENINTENT_AGENT_SWEEP_SECONDS": "1", "OPENINTENT_HEARTBEAT_INTERVAL_SECONDS": "1", "OPENINTENT_MEMORY_EXPIRY_SECONDS": "1"}
    with LiveServer(web_processes=2, worker=True, beat=True, database_url=production_database.url,
                    redis_url=production_redis_url, env=env) as server:
        # racing registrations of one id: exactly one 200, the rest 409, never a 500
        def register(_):
            return requests.post(f"{server.url}/api/v1/agents/register", json={"agent_id": "racer"},
                                 headers={"X-API-Key": "dev-user-key", "X-Agent-ID": "racer"}, timeout=10).status_code
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(register, range(8)))
        assert codes == [200] + [409] * 7, codes

        c = OpenIntentClient(server.url, api_key="dev-user-key", agent_id="worker")
        c.register_agent("worker")
        intent = c.create_intent("prod plan")
        a = c.create_task(intent.id, "a")
        b = c.create_task(intent.id, "b", depends_on=[a.id])
        plan = c.create_plan(intent.id, tasks=[a.id, b.id], on_failure="fail")
        c.update_plan(plan.id, plan.version, state="active")
        for task in (a, b):
            current = c.get_task(task.id)
            running = c.update_task(task.id, current.version, status="running")
            c.update_task(task.id, running.version, status="completed")
            c.agent_heartbeat("worker")
        assert c.get_plan(plan.id).state == PlanState.COMPLETED

        # racing PATCHes with one version: exactly one wins, on tasks and on memory
        contested = c.create_task(intent.id, "contested")
        headers = {"X-API-Key": "dev-user-key", "X-Agent-ID": "worker", "If-Match": "1"}

        def start(_):
            return requests.patch(f"{server.url}/api/v1/tasks/{contested.id}", json={"status": "running"}, headers=headers, timeout=10).status_code
        with ThreadPoolExecutor(6) as pool:
            assert sorted(pool.map(start, range(6))) == [200] + [409] * 5
        note = c.create_memory("worker", "race", "k", {"v": 0})

        def write(i):
            return requests.patch(f"{server.url}/api/v1/memory/{note.id}", json={"value": {"v": i}}, headers=headers, timeout=10).status_code
        with ThreadPoolExecutor(6) as pool:
            assert sorted(pool.map(write, range(6))) == [200] + [409] * 5

        entry = c.create_memory("worker", "tmp", "k", {"v": 1}, ttl="1", tags=["x"])
        assert [e.id for e in c.list_memory("worker", tags=["x"])] == [entry.id]
        time.sleep(1.2)
        with pytest.raises(NotFoundError):
            c.get_memory(entry.id)

        # "racer" sends no heartbeats: unhealthy, then dead, by the beat-driven sweep
        seen = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (not seen or seen[-1] != "dead"):
            status = c.get_agent_record("racer").status.value
            if not seen or seen[-1] != status:
                seen.append(status)
            time.sleep(0.3)
        assert seen == ["active", "unhealthy", "dead"], (seen, server.log())
