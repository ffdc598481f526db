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
"""

from __future__ import annotations

import fcntl
import os
import threading

from django.db.backends.sqlite3 import base

_process_write_lock = threading.Lock()
# One open lock file per (process, database): an inherited descriptor would share its lock
# with the parent after a fork (Celery's prefork pool), so a child opens its own.
_lock_files: dict[tuple[int, str], int] = {}
_lock_files_guard = threading.Lock()


def _lock_file_for(database_name: str) -> int | None:
    if not database_name or database_name == ":memory:" or database_name.startswith("file:"):
        return None
    key = (os.getpid(), database_name)
    with _lock_files_guard:
        fd = _lock_files.get(key)
        if fd is None:
            fd = os.open(f"{database_name}.writelock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _lock_files[key] = fd
        return fd


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _held_lock_file: int | None = None

    def _start_transaction_under_autocommit(self):
        _process_write_lock.acquire()
        self._holds_write_lock = True
        try:
            lock_file = _lock_file_for(str(self.settings_dict["NAME"]))
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # blocks without holding the GIL
                self._held_lock_file = lock_file
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

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
        if self._held_lock_file is not None:
            fcntl.flock(self._held_lock_file, fcntl.LOCK_UN)
            self._held_lock_file = None
        if self._holds_write_lock:
            self._holds_write_lock = False
            _process_write_lock.release()
