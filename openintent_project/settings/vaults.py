"""RFC-0014 vaults and tool proxy settings (docs/vaults.md). Every value comes from the
environment so live-server tests can change it."""

from .base import env

# Secret-encryption keys, newest first: "kid:base64key" or "base64key" (32 bytes, urlsafe
# base64). The first encrypts; all decrypt. Never stored in the database.
OPENINTENT_VAULT_KEYS = env.list("OPENINTENT_VAULT_KEYS", default=[])
# Or a file holding one key per line, in the same format (newest first).
OPENINTENT_VAULT_KEY_FILE = env.str("OPENINTENT_VAULT_KEY_FILE", default="")
# Let tools/invoke reach loopback, private and link-local addresses (tests, trusted labs only).
OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS = env.bool("OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS", default=False)
# Length of the per-grant rate-limit window for constraints.max_invocations_per_hour.
OPENINTENT_TOOLS_RATE_WINDOW_SECONDS = env.int("OPENINTENT_TOOLS_RATE_WINDOW_SECONDS", default=3600)
# Largest upstream response body a tool call may return.
OPENINTENT_TOOLS_MAX_RESPONSE_BYTES = env.int("OPENINTENT_TOOLS_MAX_RESPONSE_BYTES", default=1024 * 1024)
# How often Celery beat expires grants and credentials.
OPENINTENT_VAULT_EXPIRY_SECONDS = env.float("OPENINTENT_VAULT_EXPIRY_SECONDS", default=60.0)
