"""Production mode (PostgreSQL, two web processes): the per-grant rate limit is exact under
concurrent calls, and the sealed secret is absent from the PostgreSQL table."""

from __future__ import annotations

import pytest
import psycopg
import requests

from openintent_project.testing import LiveServer

from ..crypto import generate_key_line
from .test_interop_vaults import concurrent_calls

pytestmark = [pytest.mark.production, pytest.mark.live]

HEADERS = {"X-API-Key": "dev-user-key", "X-Agent-ID": "agent-x"}
SECRET = "pg-plaintext-secret-value"


def test_rate_limit_and_secrets_on_postgresql(production_database, production_redis_url, upstream):
    env = {"OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS": "true", "OPENINTENT_VAULT_KEYS": generate_key_line()}
    with LiveServer(web_processes=2, database_url=production_database.url, redis_url=production_redis_url, env=env) as server:
        def post(path, body):
            response = requests.post(f"{server.url}{path}", json=body, headers=HEADERS, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()

        vault = post("/api/v1/vaults", {"owner_id": "o", "name": "pg"})
        credential = post("/api/v1/credentials", {
            "vault_id": vault["id"], "service": "pg-svc", "label": "PG",
            "metadata": {"base_url": upstream.url}, "secret": {"api_key": SECRET},
        })
        post("/api/v1/grants", {"credential_id": credential["id"], "agent_id": "agent-x", "granted_by": "o",
                                "scopes": ["race"], "constraints": {"max_invocations_per_hour": 5}})
        statuses = concurrent_calls(server.url, "race", 14)
        assert sorted(statuses) == [200] * 5 + [429] * 9
        assert all(r["headers"]["Authorization"] == SECRET for r in upstream.requests)

    with psycopg.connect(production_database.url) as connection:
        rows = connection.execute("SELECT * FROM vaults_credential").fetchall()
    assert rows and SECRET not in repr(rows)
