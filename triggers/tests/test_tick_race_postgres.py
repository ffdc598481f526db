"""Exactly once per tick on PostgreSQL with real concurrency: six threads (six connections)
fire the same due tick at the same instant, with the row lock and without it."""

import json
import os
import subprocess
import sys

import pytest

from openintent_project.testing import ROOT

pytestmark = pytest.mark.production


def test_concurrent_fires_of_one_tick_create_one_intent_on_postgres(production_database, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "openintent_project.settings.dev",
           "DATABASE_URL": production_database.url, "OPENINTENT_DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "triggers.tests.pg_race_script"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    for mode in ("locked", "without_lock"):
        result = summary[mode]
        assert result["errors"] == [], result
        assert result["fired"] == 1 and result["intents"] == 1 and result["fires"] == 1 and result["fire_count"] == 1, summary
    assert summary["dedup"] == {"outcomes": ["fired", "skipped"], "intents": 1}, summary
