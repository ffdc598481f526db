"""Two agents share one intent and take turns through a lease on the scope "editor".

Each agent, in each round, holds the lease while it appends "<agent>:start" and then
"<agent>:end" to the shared ``log`` (with a pause in between). Because only the lease holder
writes, the log never interleaves: every start is directly followed by the same agent's end.

    python sdk/examples/lease_agents.py
"""

from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))

from _env import API_KEY, BASE_URL  # noqa: E402

from openintent_sdk import Client  # noqa: E402


def append(client: Client, intent_id: str, entry: str) -> None:
    client.intents.update_state(intent_id, lambda intent: {"log": intent.state.get("log", []) + [entry]},
                                retry_on_conflict=True, max_attempts=20)


def run_agent(client: Client, intent_id: str, rounds: int, pause: float) -> None:
    for _ in range(rounds):
        # Waits (up to 60 s) while the other agent holds the scope; renews in the background;
        # releases on exit, even if the block raises.
        with client.lease(intent_id, "editor", duration_seconds=15, wait=60, poll_interval=0.1):
            append(client, intent_id, f"{client.agent_id}:start")
            time.sleep(pause)
            append(client, intent_id, f"{client.agent_id}:end")
        time.sleep(0.05)


def main(base_url: str = BASE_URL, api_key: str = API_KEY, rounds: int = 3, pause: float = 0.3) -> list[str]:
    writer = Client(base_url, api_key, agent_id="writer-agent")
    reviewer = Client(base_url, api_key, agent_id="reviewer-agent")
    intent = writer.intents.create("Co-edit the launch post", state={"log": []})
    writer.intents.assign_agent(intent.id, "writer-agent")
    writer.intents.assign_agent(intent.id, "reviewer-agent")

    threads = [threading.Thread(target=run_agent, args=(c, intent.id, rounds, pause)) for c in (writer, reviewer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    log = writer.intents.get(intent.id).state["log"]
    for entry in log:
        print(entry)
    pairs = list(zip(log[::2], log[1::2]))
    assert all(a.split(":")[0] == b.split(":")[0] for a, b in pairs), "the lease did not serialise writers"
    print(f"{len(pairs)} turns, never interleaved; leases now: "
          f"{[lease.status for lease in writer.leases.list(intent.id)]}")
    return log


if __name__ == "__main__":
    main()
