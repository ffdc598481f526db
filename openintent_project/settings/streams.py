"""Real-time delivery settings (RFC-0006): SSE/WebSocket streams and webhook deliveries.
Every value is read from the environment so live-server tests can shorten it."""

from .base import env

# Keepalive comment after this many seconds without a frame (06: 15 s). Each keepalive tick
# also re-reads the log, so a lost wake-up only delays a frame.
STREAMS_KEEPALIVE_SECONDS = env.float("STREAMS_KEEPALIVE_SECONDS", default=15.0)
# One cheap query per web process per tick finds events written by other processes (Celery
# worker, beat, other daphne processes) and wakes this process's streams. With Redis the
# channel layer carries wake-ups across processes and the tick is only a safety net.
STREAMS_POLL_SECONDS = env.float("STREAMS_POLL_SECONDS", default=1.0)
# On SQLite (embedded mode) the WAL file is stat()ed this often between reads; a change
# (a commit by any process) triggers the read at once. No query while nothing changes.
STREAMS_WAL_CHECK_SECONDS = env.float("STREAMS_WAL_CHECK_SECONDS", default=0.01)
# While a web process receives notes (frames) from the other local processes, the WAL is
# checked this often instead: the notes delivered the frames already, the check only finds
# events whose note was dropped.
STREAMS_NOTED_WAL_CHECK_SECONDS = env.float("STREAMS_NOTED_WAL_CHECK_SECONDS", default=0.1)
# A gap in the global event id sequence (a transaction still in flight, or rolled back) holds
# multi-intent streams back for at most this long before it is treated as rolled back.
STREAMS_GAP_TIMEOUT_SECONDS = env.float("STREAMS_GAP_TIMEOUT_SECONDS", default=3.0)
# Sent as ``retry:`` (the SDK's reconnect delay).
STREAMS_RETRY_MS = env.int("STREAMS_RETRY_MS", default=2000)

# Adds ``X-Stream-Process: <pid>`` to stream responses (tests of cross-process delivery).
STREAMS_EXPOSE_PROCESS = env.bool("STREAMS_EXPOSE_PROCESS", default=False)

# Webhooks: attempts and backoff (delay = min(BASE * 2**(attempt-1), MAX)).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=10.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A delivery claimed this long ago without an outcome (worker died) is re-enqueued.
WEBHOOK_STUCK_SECONDS = env.float("WEBHOOK_STUCK_SECONDS", default=300.0)
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=15.0)
# Outbound URLs resolving to loopback/private/link-local/reserved addresses are refused
# unless they fall in one of these networks (CIDR), e.g. "127.0.0.0/8,::1/128".
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
