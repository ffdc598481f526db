"""RFC-0017 triggers. Every value is read from the environment so live tests can shorten it."""

from .base import env

# Celery beat period of the schedule tick (17 §6: every 15 s). Tests use 1 s.
TRIGGERS_TICK_SECONDS = env.float("TRIGGERS_TICK_SECONDS", default=15.0)
# Safety sweep for queued fires whose blocking intent finished (17 §6).
TRIGGERS_QUEUE_SWEEP_SECONDS = env.float("TRIGGERS_QUEUE_SWEEP_SECONDS", default=60.0)
# A tick missed while beat was down: fire it once on the next tick (True) or skip it (False).
# Either way missed runs are never backfilled one by one.
TRIGGERS_CATCH_UP_MISSED = env.bool("TRIGGERS_CATCH_UP_MISSED", default=True)
# How late a tick may be and still count as on time (not "missed"), in seconds.
TRIGGERS_MISSED_GRACE_SECONDS = env.float("TRIGGERS_MISSED_GRACE_SECONDS", default=60.0)
# Allow sub-minute test schedules: a 6-field cron whose first field is seconds. Off in production.
TRIGGERS_ALLOW_SECONDS_CRON = env.bool("TRIGGERS_ALLOW_SECONDS_CRON", default=False)
# Cascade limit (17 §5.3).
TRIGGERS_MAX_DEPTH = env.int("TRIGGERS_MAX_DEPTH", default=10)
# Inbound webhooks: accepted timestamp skew and per-trigger rate limit.
TRIGGERS_WEBHOOK_TOLERANCE_SECONDS = env.int("TRIGGERS_WEBHOOK_TOLERANCE_SECONDS", default=300)
TRIGGERS_WEBHOOK_RATE_LIMIT = env.int("TRIGGERS_WEBHOOK_RATE_LIMIT", default=60)
TRIGGERS_WEBHOOK_RATE_WINDOW_SECONDS = env.int("TRIGGERS_WEBHOOK_RATE_WINDOW_SECONDS", default=60)
TRIGGERS_WEBHOOK_MAX_BODY_BYTES = env.int("TRIGGERS_WEBHOOK_MAX_BODY_BYTES", default=1_048_576)
# AES-256-GCM keys (urlsafe base64 of 32 bytes) for webhook secrets, newest first. Empty: a key
# derived from SECRET_KEY (which lives outside the database).
