"""Connection settings shared by the examples: env OPENINTENT_URL and OPENINTENT_API_KEY,
defaulting to ``make run``'s http://127.0.0.1:8000 and the dev key."""

import os

BASE_URL = os.environ.get("OPENINTENT_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("OPENINTENT_API_KEY", "dev-user-key")
