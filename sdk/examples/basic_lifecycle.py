"""Basic lifecycle: create an intent, patch its state, log an event, complete it, read the log.

    python sdk/examples/basic_lifecycle.py      # against `make run` (see _env.py)
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _env import API_KEY, BASE_URL  # noqa: E402

from openintent_sdk import Client  # noqa: E402


def main(base_url: str = BASE_URL, api_key: str = API_KEY) -> dict:
    client = Client(base_url, api_key, agent_id="lifecycle-agent")
    intent = client.intents.create("Summarise the quarterly report", description="example",
                                   state={"progress": 0})
    print(f"created {intent.id} (version {intent.version}, status {intent.status})")

    client.intents.set_status(intent.id, "active")
    # No version needed: the SDK reads it; retry_on_conflict re-reads if someone else wrote.
    intent = client.intents.update_state(intent.id, {"progress": 50, "draft": "Revenue grew."},
                                         retry_on_conflict=True)
    client.events.log(intent.id, "comment", {"text": "half way"})
    intent = client.intents.update_state(intent.id, {"progress": 100}, retry_on_conflict=True)
    intent = client.intents.complete(intent.id)
    print(f"completed at version {intent.version}: {intent.state}")

    events = client.events.list(intent.id)
    for event in reversed(events):
        print(f"  {event.created_at:%H:%M:%S} {event.event_type:<16} by {event.actor}")
    return {"intent": intent, "events": events}


if __name__ == "__main__":
    main()
