"""SQLite, with writers queued on locks that wake them at once.

SQLite lets one transaction write at a time; the others wait in SQLite's busy handler, which
polls with sleeps growing to 100 ms. Under load a writer can sleep through many commits of
others: requests that should wait 5 ms wait 500 ms or more (the slow tail of the benchmark at
concurrency 8). So a writer first queues on two locks and only then runs ``BEGIN IMMEDIATE``:

- a process-wide ``threading.Lock``, so the threads of one process take turns, in order;
- an exclusive ``flock`` on a file beside the database, so processes (web processes, the
  Celery worker and beat) take turns too. The kernel hands the lock to the next waiter the
  moment it is released, with no polling.

Both are released the moment the transaction ends. SQLite's own lock and busy timeout remain
for anyone who writes without these locks (the sqlite3 shell, a single autocommit UPDATE).
In-memory databases have no file and use the process lock alone.

Checkpoints run beside the writers, not inside them. SQLite copies the WAL back into the
database (a checkpoint, with an fsync) in the commit that takes the WAL past
``wal_autocheckpoint`` pages: 5-10 ms here, every fiftieth write or so, while that writer
still holds the write lock and every other writer waits for it. Here every
``CHECKPOINT_EVERY`` write transactions of a process wake a background thread that checkpoints
on its own connection (``PASSIVE``: it neither waits for nor blocks readers and writers), and
SQLite's own checkpoint stays as a safety net at ``AUTOCHECKPOINT_PAGES``, should the thread
ever fall behind.

Statements are converted to SQLite's ``?`` placeholders once per distinct SQL text
(``CursorWrapper``), not on every execution.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import sqlite3
import threading

from django.db.backends.sqlite3 import base

from openintent_project.db.read_only import WriteAttempted, refusing_writes
from openintent_project.db.rows import statements_watched

log = logging.getLogger(__name__)

# Write transactions of one process between two background checkpoints. A write adds a few
# pages to the WAL (about 20 for a new intent with its event and stream frame), so this
# keeps the WAL near SQLite's default threshold of 1,000 pages.
CHECKPOINT_EVERY = 50
# SQLite's own checkpoint in the committing writer, kept only as a safety net (40 MB).
AUTOCHECKPOINT_PAGES = 10_000

_process_write_lock = threading.Lock()
# One open lock file per (process, database): an inherited descriptor would share its lock
# with the parent after a fork (Celery's prefork pool), so a child opens its own.
_lock_files: dict[tuple[int, str], int] = {}
_lock_files_guard = threading.Lock()


def _is_file_database(database_name: str) -> bool:
    return bool(database_name) and database_name != ":memory:" and not database_name.startswith("file:")


def _lock_file_for(database_name: str) -> int | None:
    if not _is_file_database(database_name):
        return None
    key = (os.getpid(), database_name)
    with _lock_files_guard:
        fd = _lock_files.get(key)
        if fd is None:
            fd = os.open(f"{database_name}.writelock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _lock_files[key] = fd
        return fd


class Checkpointer:
    """One daemon thread per process that checkpoints the WAL of each database it was asked
    for, on a connection of its own. ``request`` never blocks: it wakes the thread."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._wanted = threading.Event()
        self._databases: set[str] = set()
        self._thread: threading.Thread | None = None
        # (busy, WAL frames, frames checkpointed) of the last checkpoint, and how many ran.
        self.last_result: tuple[int, int, int] | None = None
        self.runs = 0

    def request(self, database_name: str) -> None:
        with self._guard:
            self._databases.add(database_name)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self._thread.start()
        self._wanted.set()

    def _run(self) -> None:
        connections: dict[str, sqlite3.Connection] = {}
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._guard:
                databases = list(self._databases)
            for name in databases:
                try:
                    if name not in connections:
                        connections[name] = sqlite3.connect(name, isolation_level=None)
                        connections[name].execute("PRAGMA synchronous=NORMAL")
                    self.last_result = connections[name].execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error:  # the next request tries again; SQLite's own is the net
                    log.warning("WAL checkpoint of %s failed", name, exc_info=True)
                    connections.pop(name, None)


checkpointer = Checkpointer()
_writes_since_checkpoint = 0


def _reset_after_fork() -> None:
    # A forked child (Celery's prefork pool) has none of the parent's threads: it starts its
    # own checkpointer when it needs one.
    global checkpointer, _writes_since_checkpoint
    checkpointer = Checkpointer()
    _writes_since_checkpoint = 0


os.register_at_fork(after_in_child=_reset_after_fork)


def _wrote(database_name: str) -> None:
    """A write transaction of this process ended (under the process lock)."""
    global _writes_since_checkpoint
    _writes_since_checkpoint += 1
    if _writes_since_checkpoint >= CHECKPOINT_EVERY:
        _writes_since_checkpoint = 0
        checkpointer.request(database_name)


@functools.lru_cache(maxsize=2048)
def _qmark_style(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, remembering its placeholder conversions. Django rewrites
    ``%s`` to ``?`` with a regular expression on every execution: 10-12 µs for an ordinary
    statement here, about 60 µs of an append. The SQL texts a process runs are few (the
    hot paths' statements are the very same strings, ``rows.py``), so the conversion is
    cached by text."""

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _held_lock_file: int | None = None

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)

    @property
    def _database_name(self) -> str:
        return str(self.settings_dict["NAME"])

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if _is_file_database(self._database_name):
            connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        return connection

    def _start_transaction_under_autocommit(self):
        if refusing_writes():  # an idle read on the event loop (see read_only.py): not here
            raise WriteAttempted("BEGIN")
        _process_write_lock.acquire()
        self._holds_write_lock = True
        try:
            lock_file = _lock_file_for(self._database_name)
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # blocks without holding the GIL
                self._held_lock_file = lock_file
            self._begin()
        except BaseException:
            self._release_write_lock()
            raise

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, straight on the connection: Django opens a cursor for it and
        wraps it (15 µs, a write's every transaction). While queries are recorded
        (``assertNumQueries``, ``DEBUG``), Django's own path, so the BEGIN is seen there."""
        if statements_watched(self):
            super()._start_transaction_under_autocommit()
            return
        with self.wrap_database_errors:
            self.connection.execute(f"BEGIN {self.transaction_mode}" if self.transaction_mode else "BEGIN")

    def _set_autocommit(self, autocommit):
        try:
            super()._set_autocommit(autocommit)
        finally:
            # Back in autocommit mode: the transaction is over (committed or rolled back);
            # release before on_commit callbacks run.
            if autocommit:
                self._release_write_lock()

    def _close(self):
        try:
            super()._close()
        finally:
            self._release_write_lock()

    def _release_write_lock(self):
        wrote_to_file = self._held_lock_file is not None
        if wrote_to_file:
            fcntl.flock(self._held_lock_file, fcntl.LOCK_UN)
            self._held_lock_file = None
        if self._holds_write_lock:
            self._holds_write_lock = False
            if wrote_to_file:
                _wrote(self._database_name)
            _process_write_lock.release()
