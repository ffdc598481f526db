"""Test support shared by every app: live server processes and production services.

Live-server tests start the real ``openintent-server`` launcher (daphne, and Celery worker
and beat when asked) in subprocesses, on a throwaway SQLite file or PostgreSQL database, and
drive it over real HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("OPENINTENT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds
    pass; then its last value, so ``assert wait_for(...)`` fails with the state it saw."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def production_services_available() -> tuple[bool, str]:
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", REDIS_PORT)) if not port_open("127.0.0.1", port)]
    if missing:
        return False, f"{' and '.join(missing)} not reachable on localhost"
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_DSN, connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        return False, f"PostgreSQL refused the connection: {error}"
    return True, ""


class PostgresDatabase:
    """A fresh, uniquely named database, dropped on ``drop()``."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"openintent_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def redis_test_url() -> str:
    """A Redis database index of its own per run, so parallel runs do not share queues."""
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{(os.getpid() % 14) + 1}"


class LiveServer:
    """``openintent-server`` in a subprocess. ``env`` overrides settings for the test."""

    def __init__(
        self,
        *,
        web_processes: int = 2,
        worker: bool = False,
        beat: bool = False,
        database_url: str | None = None,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="openintent-live-"))
        self.log_path = self.data_dir / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "openintent_project.settings.dev",
            "OPENINTENT_DATA_DIR": str(self.data_dir),
            "OPENINTENT_OPERATOR_KEYS": "operator-key",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.args = ["--host", "127.0.0.1", "--port", str(self.port), "--web-processes", str(web_processes)]
        if not worker:
            self.args.append("--no-worker")
        if not beat:
            self.args.append("--no-beat")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "LiveServer":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openintent_project.server", *self.args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"live server exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/.well-known/openintent.json", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"live server did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process and self.process.poll() is not None:
            # It stopped on its own: leave its last words where the test run shows them.
            sys.stderr.write(f"live server {self.url} had exited with {self.process.returncode}:\n{self.log()}\n")
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
