"""A worker agent: registers, heartbeats, follows its stream and handles assignments.

For each intent it is assigned to, it writes a result into the state (the returned dict is
patched in), then completes the intent. SIGTERM or Ctrl-C drains it: running handlers finish,
then it deregisters.

    python sdk/examples/worker.py                       # run the worker
    python sdk/examples/worker.py --assign "Do a thing"  # from another shell: give it work
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _env import API_KEY, BASE_URL  # noqa: E402

from openintent_sdk import Client, Context, Worker  # noqa: E402

AGENT_ID = os.environ.get("OPENINTENT_AGENT_ID", "example-worker")


def handle(ctx: Context) -> dict:
    title = ctx.intent.title
    print(f"assigned to {ctx.intent_id}: {title}", flush=True)
    with ctx.lease("result", duration_seconds=30):
        ctx.patch({"result": title.upper(), "handled_by": ctx.agent_id})
    ctx.complete(reason="done by worker")
    return {}


def build(base_url: str = BASE_URL, api_key: str = API_KEY, agent_id: str = AGENT_ID, **kw) -> Worker:
    return Worker(agent_id, handle, base_url=base_url, api_key=api_key, capabilities=["uppercase"], **kw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assign", metavar="TITLE", help="create an intent and assign it to the worker")
    args = parser.parse_args(argv)
    if args.assign:
        client = Client(BASE_URL, API_KEY, agent_id="dispatcher")
        intent = client.intents.create(args.assign)
        client.intents.assign_agent(intent.id, AGENT_ID)
        print(intent.id)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    worker = build()
    print(f"worker {worker.agent_id} running against {BASE_URL}", flush=True)
    worker.run()
    print(f"worker {worker.agent_id} drained after {worker.processed} handler calls", flush=True)


if __name__ == "__main__":
    main()
