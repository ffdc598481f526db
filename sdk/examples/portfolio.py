"""A portfolio groups intents: create one, add three intents, complete two, read it back.

    python sdk/examples/portfolio.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _env import API_KEY, BASE_URL  # noqa: E402

from openintent_sdk import Client  # noqa: E402


def main(base_url: str = BASE_URL, api_key: str = API_KEY) -> dict:
    client = Client(base_url, api_key, agent_id="portfolio-agent")
    portfolio = client.portfolios.create("Q3 launch", description="everything for the launch",
                                         metadata={"team": "growth"})
    intents = [client.intents.create(title) for title in ("Write copy", "Design banner", "Book ads")]
    for priority, intent in enumerate(intents):
        client.portfolios.add_intent(portfolio.id, intent.id, role="primary" if priority == 0 else "member",
                                     priority=priority)
    for intent in intents[:2]:
        client.intents.complete(intent.id)

    members = client.portfolios.intents(portfolio.id)
    print(f"portfolio {portfolio.name}: {len(members)} intents")
    for intent in members:
        print(f"  {intent.status:<10} {intent.title}")
    current = client.portfolios.get(portfolio.id)
    if current.aggregate_status:
        print(f"aggregate: {current.aggregate_status}")
    print(f"portfolios of '{intents[0].title}': {[p.name for p in client.intents.portfolios(intents[0].id)]}")
    return {"portfolio": current, "members": members}


if __name__ == "__main__":
    main()
