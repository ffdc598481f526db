"""SQLite, with one writer per process at a time.

SQLite lets one transaction write at a time; the others wait in SQLite's busy handler, which
sleeps in growing steps (1, 2, 5, 10 … 100 ms). With several request threads in a process all
waiting there, a queue of writers turns into long sleeps and a slow tail. Here a process-wide
lock is taken before ``BEGIN IMMEDIATE`` and released the moment the transaction ends, so
threads of one process queue on the lock (woken at once, in order) and at most one of them
per process waits inside SQLite. Other processes still coordinate through SQLite's own lock.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

_process_write_lock = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self):
        _process_write_lock.acquire()
        self._holds_write_lock = True
        try:
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
        if self._holds_write_lock:
            self._holds_write_lock = False
            _process_write_lock.release()
