"""An ASGI handler whose requests reuse a few long-lived threads.

Django's ASGIHandler runs each request's synchronous code (middleware, DRF views, the ORM) in
a thread created for that request (``ThreadSensitiveContext``). Database connections are
per thread, so every request opened a new connection — for SQLite that is the file open plus
the PRAGMAs, for PostgreSQL a full connection handshake — and started a thread. Here each
request is bound to one of ``threads`` long-lived contexts, so its sync code runs on a
thread that keeps its connection (``CONN_MAX_AGE``) between requests. Requests on different
threads still run concurrently, so one slow request (an outbound tool call) does not stall
the process; a request goes to the least busy thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self, threads: int = 4):
        super().__init__()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{n}") for n in range(max(1, threads))
        ]
        self._in_flight = [0] * len(self._executors)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        slot = min(range(len(self._in_flight)), key=self._in_flight.__getitem__)
        self._in_flight[slot] += 1
        try:
            # A context given an executor uses it and leaves it running on exit (asgiref),
            # so the thread — and its database connection — serves the next request too.
            async with ThreadSensitiveContext(executor=self._executors[slot]):
                await self.handle(scope, receive, send)
        finally:
            self._in_flight[slot] -= 1
