"""Production mode (PostgreSQL + Redis, several web processes): racing membership adds give
one membership; the attachment round trip works unchanged."""

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from openintent_project.testing import LiveServer

pytestmark = [pytest.mark.production, pytest.mark.live]

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-pg"}


def test_racing_adds_and_attachment_round_trip_on_postgresql(production_database, production_redis_url):
    env = {"OPENINTENT_MAX_ATTACHMENT_BYTES": "20000"}
    with LiveServer(web_processes=2, database_url=production_database.url, redis_url=production_redis_url, env=env) as server:
        api = f"{server.url}/api/v1"
        policy = {"shared_constraints": {"budget": 7}}
        portfolio = requests.post(f"{api}/portfolios", json={"name": "race", "created_by": "agent-pg", "governance_policy": policy}, headers=HEADERS).json()
        intent = requests.post(f"{api}/intents", json={"title": "raced"}, headers=HEADERS).json()

        def add(priority):
            return requests.post(f"{api}/portfolios/{portfolio['id']}/intents", json={"intent_id": intent["id"], "priority": priority}, headers=HEADERS)

        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(add, range(16)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["id"] for r in responses}) == 1
        members = requests.get(f"{api}/portfolios/{portfolio['id']}/intents", headers=HEADERS).json()
        assert [m["id"] for m in members] == [intent["id"]]
        assert members[0]["constraints"] == {"budget": 7}
        assert requests.get(f"{api}/portfolios/{portfolio['id']}", headers=HEADERS).json()["aggregate_status"]["total"] == 1

        payload = b"postgres bytes" * 1000
        created = requests.post(
            f"{api}/intents/{intent['id']}/attachments",
            json={"filename": "p.bin", "content_base64": base64.b64encode(payload).decode()}, headers=HEADERS,
        ).json()
        download = requests.get(created["storage_url"], headers=HEADERS)
        assert hashlib.sha256(download.content).hexdigest() == created["sha256"] == hashlib.sha256(payload).hexdigest()
        media = server.data_dir / "media"
        assert len([p for p in media.rglob("*") if p.is_file()]) == 1
        assert requests.delete(f"{api}/intents/{intent['id']}/attachments/{created['id']}", headers=HEADERS).status_code == 204
        assert requests.get(created["storage_url"], headers=HEADERS).status_code == 404
        assert [p for p in media.rglob("*") if p.is_file()] == []

        # Over the limit, in both forms: 413 and nothing written (no file, no row).
        big = b"x" * 20001
        by_json = requests.post(f"{api}/intents/{intent['id']}/attachments", headers=HEADERS,
                                json={"filename": "big", "content_base64": base64.b64encode(big).decode()})
        by_form = requests.post(f"{api}/intents/{intent['id']}/attachments", headers=HEADERS, files={"file": ("big", big)})
        assert (by_json.status_code, by_form.status_code) == (413, 413)
        assert requests.get(f"{api}/intents/{intent['id']}/attachments", headers=HEADERS).json() == []
        assert [p for p in media.rglob("*") if p.is_file()] == []
