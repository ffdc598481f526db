"""Settings that fault-injection tests shorten (issue 9)."""

from .base import CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL, env

if REDIS_URL:
    # How long a task a worker took but never acknowledged (the worker was killed: late
    # acknowledgement) waits in Redis before it is handed to another worker. Must exceed the
    # longest task; tests that kill workers shorten it.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)

