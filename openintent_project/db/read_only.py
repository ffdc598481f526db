"""Run code that should only read, and find out, before it happens, when it would write.

A web process runs an idle API read on its event loop's own thread (``handlers``), where
nothing may wait for a lock: every request and stream of the process would wait with it.
Most reads never write, but a few do (reading a memory entry records when it was last read;
an operator's read past an intent's ACL records an audit event), and a write can wait: for
SQLite's write lock (``db.sqlite3``: a process lock, a file lock, then ``BEGIN IMMEDIATE``),
for a PostgreSQL row lock. Inside ``read_only()`` the first thing that could wait raises
``WriteAttempted`` before it does, and the caller runs the request again where waiting is
harmless: a request thread. Nothing was written, so running it again is safe.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from typing import Iterator

from django.db import connections

_active = threading.local()

# A SELECT that takes row locks waits for them like a write.
_LOCKING_SELECT = re.compile(r"\sFOR\s+(?:NO\s+KEY\s+UPDATE|KEY\s+SHARE|UPDATE|SHARE)\b", re.IGNORECASE)
# Statements that neither write nor lock. A savepoint only exists inside a transaction that
# has begun, and beginning one is refused (SQLite) or takes no lock (PostgreSQL).
_READING_STATEMENTS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK")


class WriteAttempted(BaseException):
    """Raised inside ``read_only()`` by the first statement that would write or lock.

    A ``BaseException``, like ``asyncio.CancelledError``: it must pass through Django's and
    DRF's ``except Exception`` handlers (which would turn it into a 500 response) up to the
    code that opened ``read_only()``. ``transaction.atomic`` rolls back on its way out."""


def refusing_writes() -> bool:
    """Whether this thread runs inside ``read_only()`` (the SQLite backend asks before it
    queues for the write lock)."""
    return getattr(_active, "on", False)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(_refuse_writes))
        _active.on = True
        try:
            yield
        finally:
            _active.on = False


@functools.lru_cache(maxsize=1024)
def _would_write(sql: str) -> bool:
    """Whether ``sql`` writes or takes locks. Remembered by text: a process runs few distinct
    statements, and the lock check searches the whole text (a read of an intent's SELECT
    lists every column)."""
    head = sql.lstrip()[:9].upper()
    return not head.startswith(_READING_STATEMENTS) or (head.startswith("SELECT") and bool(_LOCKING_SELECT.search(sql)))


def _refuse_writes(execute, sql, params, many, context):
    if _would_write(sql):
        raise WriteAttempted(sql[:80])
    return execute(sql, params, many, context)
