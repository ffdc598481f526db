"""Leases (03), costs (09) and retry policies (10): periods of their background jobs."""

import environ

env = environ.Env()

# Periods are whole seconds: django-celery-beat stores intervals as integers.
# Beat period of the lease-expiry job (03, ARCHITECTURE "Background jobs"). Reads never wait
# for it: an expired lease stops counting the moment expires_at passes.
OPENINTENT_LEASE_EXPIRY_SECONDS = env.int("OPENINTENT_LEASE_EXPIRY_SECONDS", default=5)
# Most expired leases one run announces; the rest wait for the next run.
OPENINTENT_LEASE_EXPIRY_BATCH = env.int("OPENINTENT_LEASE_EXPIRY_BATCH", default=500)
# Beat period of the sweep that applies RFC-0010 fallback re-assignments the on-commit task
# missed (10, "Fallback re-assignment").
OPENINTENT_RETRY_FALLBACK_SWEEP_SECONDS = env.int("OPENINTENT_RETRY_FALLBACK_SWEEP_SECONDS", default=60)
