#!/usr/bin/env python3
"""SSE delivery latency: from a write's HTTP response to the frame's receipt on every
subscriber, at 1, 10 and 50 subscribers, quiet and while 16 other clients write busily to
other intents. Prints p50/p99 and frames lost. Runs against any server that speaks the
protocol (ours or the reference), e.g.

    python bench/sse_latency.py http://127.0.0.1:8000
    python bench/sse_latency.py http://127.0.0.1:8001 --path /api/v1/subscribe/intents/{id}

Needs only httpx (installed with the official client)."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import threading
import time

import httpx


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


# --- busy writers (a separate process, so they do not share the measuring GIL) ---------------

def _busy(base: str, key: str, writers: int, stop, started) -> None:
    import requests

    headers = {"X-API-Key": key}
    intents = [requests.post(f"{base}/api/v1/intents", json={"title": f"busy {n}"}, headers=headers, timeout=30).json()["id"] for n in range(writers)]
    counts = [0] * writers

    def loop(n: int) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    session.post(f"{base}/api/v1/intents/{intents[n]}/events", json={"event_type": "comment", "actor": "busy", "payload": {"n": counts[n]}}, headers=headers, timeout=30)
                    counts[n] += 1
                except Exception:  # noqa: BLE001 - keep writing
                    time.sleep(0.05)

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(writers)]
    for thread in threads:
        thread.start()
    started.set()
    stop.wait()
    for thread in threads:
        thread.join(timeout=35)


# --- one scenario -------------------------------------------------------------------------

async def subscriber(client: httpx.AsyncClient, url: str, key: str, received: dict, ready: asyncio.Event, opened: list) -> None:
    headers = {"X-API-Key": key, "Accept": "text/event-stream"}
    try:
        async with client.stream("GET", url, headers=headers) as response:
            opened.append(response.status_code)
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    now = time.perf_counter()
                    try:
                        data = json.loads(line[5:].strip())
                    except ValueError:
                        continue
                    payload = data.get("payload") if isinstance(data, dict) else None
                    if isinstance(payload, dict) and "bench" in payload:
                        received.setdefault(payload["bench"], now)
    except (httpx.HTTPError, asyncio.CancelledError):
        pass


async def scenario(args, subscribers: int, busy: bool) -> dict:
    headers = {"X-API-Key": args.api_key}
    limits = httpx.Limits(max_connections=subscribers + 10, max_keepalive_connections=subscribers + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits) as streams, httpx.AsyncClient(timeout=30) as writer:
        intent = (await writer.post(f"{args.base}/api/v1/intents", json={"title": "latency bench"}, headers=headers)).json()["id"]
        url = args.base + args.path.format(id=intent)
        receipts = [dict() for _ in range(subscribers)]
        opened: list = []
        ready = asyncio.Event()
        tasks = [asyncio.create_task(subscriber(streams, url, args.api_key, receipts[i], ready, opened)) for i in range(subscribers)]
        await asyncio.sleep(args.settle)  # REF sends nothing until the first frame: give streams time to open
        # A server that answers with headers once the stream is registered (ours) is waited
        # for, up to --open-timeout more, so that a slow machine does not count frames written
        # before a stream existed as lost.
        open_deadline = time.perf_counter() + args.open_timeout
        while len(opened) < subscribers and time.perf_counter() < open_deadline:
            await asyncio.sleep(0.05)
        responses: dict[int, float] = {}
        for k in range(args.writes):
            response = await writer.post(
                f"{args.base}/api/v1/intents/{intent}/events",
                json={"event_type": "comment", "actor": "bench", "payload": {"bench": k}},
                headers=headers,
            )
            responses[k] = time.perf_counter()
            response.raise_for_status()
            await asyncio.sleep(args.interval)
        deadline = time.perf_counter() + args.drain
        while time.perf_counter() < deadline and any(len(r) < args.writes for r in receipts):
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(r[k] - responses[k]) * 1000 for r in receipts for k in r if k in responses]
    expected = args.writes * subscribers
    return {
        "subscribers": subscribers,
        "busy": busy,
        "opened": sum(1 for s in opened if s == 200),
        "expected": expected,
        "received": len(latencies),
        "lost": expected - len(latencies),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", default="dev-user-key")
    parser.add_argument("--path", default="/api/v1/subscribe/intents/{id}", help="stream path template (REF path by default; ours also serves /api/v1/intents/{id}/subscribe)")
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--writes", type=int, default=100, help="measured writes per scenario")
    parser.add_argument("--interval", type=float, default=0.02, help="pause between measured writes (s)")
    parser.add_argument("--busy-writers", type=int, default=16)
    parser.add_argument("--settle", type=float, default=1.5, help="wait after opening streams (s)")
    parser.add_argument("--drain", type=float, default=5.0, help="wait for late frames (s)")
    parser.add_argument("--open-timeout", type=float, default=5.0, help="after --settle, wait this long at most for every stream's headers (s)")
    parser.add_argument("--json", action="store_true", help="also print one JSON line per scenario")
    args = parser.parse_args(argv)
    args.base = args.base.rstrip("/")
    counts = [int(n) for n in args.subscribers.split(",") if n.strip()]

    print(f"SSE latency against {args.base}{args.path}: {args.writes} writes per scenario")
    print(f"{'scenario':<22}{'subs':>5}{'open':>6}{'frames':>8}{'lost':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    results = []
    for busy in (False, True):
        stop = started = process = None
        if busy and args.busy_writers:
            ctx = multiprocessing.get_context("spawn")
            stop, started = ctx.Event(), ctx.Event()
            process = ctx.Process(target=_busy, args=(args.base, args.api_key, args.busy_writers, stop, started), daemon=True)
            process.start()
            started.wait(60)
            time.sleep(1.0)
        try:
            for n in counts:
                result = asyncio.run(scenario(args, n, busy))
                results.append(result)
                label = f"busy ({args.busy_writers} writers)" if busy else "quiet"
                print(f"{label:<22}{n:>5}{result['opened']:>6}{result['expected']:>8}{result['lost']:>7}{result['p50']:>9.1f}{result['p99']:>9.1f}{result['max']:>9.1f}", flush=True)
                if args.json:
                    print(json.dumps(result))
        finally:
            if process is not None:
                stop.set()
                process.join(40)
                if process.is_alive():
                    process.terminate()
    return 0 if all(r["lost"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
