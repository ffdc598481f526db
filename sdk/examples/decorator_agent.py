"""A decorator agent: handlers are methods marked with @on_assignment, @on_state_change,
@on_event and @on_complete.

    python sdk/examples/decorator_agent.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _env import API_KEY, BASE_URL  # noqa: E402

from openintent_sdk import agent, on_assignment, on_complete, on_event, on_state_change  # noqa: E402


@agent(os.environ.get("OPENINTENT_AGENT_ID", "reviewer"), base_url=BASE_URL, api_key=API_KEY)
class Reviewer:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @on_assignment
    def begin(self, ctx):
        self.seen.append("assigned")
        return {"review": "pending"}           # patched into the intent's state

    @on_state_change(["draft"])
    def review(self, ctx):
        self.seen.append("draft")
        return {"review": f"looks good: {ctx.intent.state['draft']}"}

    @on_event("comment")
    def comment(self, ctx):
        self.seen.append(f"comment:{ctx.data.get('payload', {}).get('text')}")

    @on_complete
    def done(self, ctx):
        self.seen.append("completed")


if __name__ == "__main__":
    Reviewer().run()
