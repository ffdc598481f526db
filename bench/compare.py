#!/usr/bin/env python3
"""Side-by-side benchmark: this server against the reference server (openintent 0.17.0).

Both run on SQLite on this machine, started fresh by this script. The same load generator
drives each operation at each concurrency for a fixed duration and prints ops/s, p50 and p99
per server and the ratio (ours / reference). It is a benchmark, not a test: numbers depend on
the machine. Usage:

    make bench                                  # defaults below
    .venv/bin/python bench/compare.py --duration 5 --concurrency 1 8 --web-processes 2

The reference server is installed into bench/.venv-ref on first use.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF_VENV = ROOT / "bench" / ".venv-ref"
KEY = "dev-user-key"


# --- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_reference() -> Path:
    script = REF_VENV / "bin" / "openintent-server"
    if not script.exists():
        print("installing the reference server into bench/.venv-ref …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        subprocess.run([str(REF_VENV / "bin" / "pip"), "install", "--quiet", "openintent[server]==0.17.0"], check=True)
    return script


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict
    cwd: Path
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/.well-known/openintent.json")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def reference_server(workdir: Path) -> Server:
    port = free_port()
    return Server("reference", [str(ensure_reference()), "--host", "127.0.0.1", "--port", str(port)],
                  {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/ref.db"}, workdir, port)


def our_server(workdir: Path, web_processes: int) -> Server:
    port = free_port()
    env = {**os.environ, "OPENINTENT_DATA_DIR": str(workdir / "ours"), "DJANGO_SETTINGS_MODULE": "openintent_project.settings.dev"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return Server("ours", [sys.executable, "-m", "openintent_project.server", "--host", "127.0.0.1", "--port", str(port),
                           "--web-processes", str(web_processes), "--no-worker", "--no-beat"], env, ROOT, port)


# --- client ----------------------------------------------------------------------------------

class Api:
    """One keep-alive connection per load thread."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"X-API-Key": KEY, "Content-Type": "application/json", **(headers or {})}
        self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def json(self, method, path, body=None, headers=None):
        status, raw = self.call(method, path, body, headers)
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:200]!r}")
        return json.loads(raw) if raw else None


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    rate: float | None = None  # set on a combined result: the median run's rate

    @property
    def ops(self) -> float:
        if self.rate is not None:
            return self.rate
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @classmethod
    def combined(cls, results: list["Result"]) -> "Result":
        """Several runs of one cell: the median run's rate, every run's latencies."""
        ordered = sorted(results, key=lambda r: r.ops)
        median = ordered[len(ordered) // 2]
        return cls(latencies=[x for r in results for x in r.latencies], errors=sum(r.errors for r in results),
                   elapsed=sum(r.elapsed for r in results), rate=median.ops)

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --- operations: setup(api) -> state ; step(api, state) -> ok ----------------------------------

def op_create(api, worker):
    return lambda: api.call("POST", "/api/v1/intents", {"title": "bench", "description": "d", "state": {"a": 1}})[0] == 200


def op_get(api, worker):
    intent = api.json("POST", "/api/v1/intents", {"title": "bench", "state": {"a": 1}})
    path = f"/api/v1/intents/{intent['id']}"
    return lambda: api.call("GET", path)[0] == 200


def op_patch(api, worker):
    intent = api.json("POST", "/api/v1/intents", {"title": "bench"})
    state = {"version": intent["version"], "n": 0}
    path = f"/api/v1/intents/{intent['id']}/state"

    def step():
        state["n"] += 1
        status, raw = api.call("POST", path, {"patches": [{"op": "set", "path": "progress", "value": state["n"]}]},
                               {"If-Match": str(state["version"])})
        if status == 200:
            state["version"] = json.loads(raw)["version"]
        return status == 200
    return step


def op_append_event(api, worker):
    intent = api.json("POST", "/api/v1/intents", {"title": "bench"})
    path = f"/api/v1/intents/{intent['id']}/events"
    return lambda: api.call("POST", path, {"event_type": "comment", "actor": "bench", "payload": {"text": "hello"}})[0] == 200


_shared_log: dict = {}


def op_list_1000_events(api, worker):
    port = api.conn.port
    if port not in _shared_log:
        intent = api.json("POST", "/api/v1/intents", {"title": "bench log"})
        for n in range(999):
            api.json("POST", f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "bench", "payload": {"n": n, "text": "x" * 40}})
        _shared_log[port] = intent["id"]
    path = f"/api/v1/intents/{_shared_log[port]}/events?limit=1000"
    return lambda: api.call("GET", path)[0] == 200


def op_lease_cycle(api, worker):
    intent = api.json("POST", "/api/v1/intents", {"title": "bench leases"})
    base = f"/api/v1/intents/{intent['id']}/leases"

    def step():
        status, raw = api.call("POST", base, {"scope": f"scope-{worker}", "duration_seconds": 60})
        if status != 200:
            return False
        lease_id = json.loads(raw)["id"]
        return api.call("DELETE", f"{base}/{lease_id}")[0] in (200, 204)
    return step


def op_discovery(api, worker):
    """No database, no key: what the HTTP stack costs (our web process's protocol and one
    trip to a request thread here, uvicorn in the reference). Shown for context; it has no
    target."""
    return lambda: api.call("GET", "/.well-known/openintent.json")[0] == 200


OPERATIONS = {
    "discovery": (op_discovery, "floor"),
    "create_intent": (op_create, "write"),
    "get_intent": (op_get, "read"),
    "patch_state": (op_patch, "write"),
    "append_event": (op_append_event, "write"),
    "list_1000_events": (op_list_1000_events, "list"),
    "lease_cycle": (op_lease_cycle, "write"),
}
TARGETS = {"write": 3.0, "read": 2.0, "list": 4.0, "floor": None}


def target_text(target: float | None) -> str:
    return "-" if target is None else f"{target:.0f}x"


def run_operation(port: int, op, concurrency: int, duration: float) -> Result:
    apis = [Api(port) for _ in range(concurrency)]
    steps = [op(api, worker) for worker, api in enumerate(apis)]
    result = Result()
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def loop(step):
        local: list[float] = []
        errors = 0
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            try:
                ok = step()
            except Exception:  # noqa: BLE001 - a dropped connection counts as an error
                ok = False
            local.append(time.perf_counter() - started)
            errors += 0 if ok else 1
        with lock:
            result.latencies.extend(local)
            result.errors += errors

    threads = [threading.Thread(target=loop, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + duration
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per operation and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each cell this many times, alternating the servers; report the median rate")
    parser.add_argument("--operations", nargs="+", default=list(OPERATIONS), choices=list(OPERATIONS))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="openintent-bench-"))
    servers = [reference_server(workdir), our_server(workdir, args.web_processes)]
    rows = []
    try:
        for server in servers:
            server.start()
        print(f"duration {args.duration}s per cell × {args.repeat}; ours: {args.web_processes} web processes; both on SQLite\n")
        header = f"{'operation':<18}{'conc':>5} | {'ref ops/s':>10}{'p50 ms':>8}{'p99 ms':>8} | {'ours ops/s':>10}{'p50 ms':>8}{'p99 ms':>8} | {'ratio':>6} {'target':>6}"
        print(header)
        print("-" * len(header))
        for name in args.operations:
            op, kind = OPERATIONS[name]
            for concurrency in args.concurrency:
                runs: dict[str, list[Result]] = {server.name: [] for server in servers}
                for repeat in range(args.repeat):
                    # Alternate which server goes first, so drift in the machine's speed
                    # (a shared host) weighs on both alike.
                    for server in servers if repeat % 2 == 0 else servers[::-1]:
                        runs[server.name].append(run_operation(server.port, op, concurrency, args.duration))
                cells = {name: Result.combined(results) for name, results in runs.items()}
                ref, ours = cells["reference"], cells["ours"]
                ratio = ours.ops / ref.ops if ref.ops else float("inf")
                errors = f"  errors ref={ref.errors} ours={ours.errors}" if ref.errors or ours.errors else ""
                print(f"{name:<18}{concurrency:>5} | {ref.ops:>10.0f}{ref.pct(.5):>8.1f}{ref.pct(.99):>8.1f} | "
                      f"{ours.ops:>10.0f}{ours.pct(.5):>8.1f}{ours.pct(.99):>8.1f} | {ratio:>5.1f}x {target_text(TARGETS[kind]):>6}{errors}", flush=True)
                rows.append({"operation": name, "concurrency": concurrency, "ratio": ratio, "target": TARGETS[kind],
                             **{f"{k}_{m}": v for k, r in cells.items() for m, v in (("ops", r.ops), ("p50_ms", r.pct(.5)), ("p99_ms", r.pct(.99)), ("errors", r.errors))}})
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
