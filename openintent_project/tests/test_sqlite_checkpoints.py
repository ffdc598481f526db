"""WAL checkpoints run on a background thread, not in the writer that fills the WAL."""

from __future__ import annotations

import sqlite3
import time

import pytest
from django.db import connections, transaction

from openintent_project.db.sqlite3 import base
from openintent_project.testing import wait_for


def _wal_database(path) -> tuple[str, sqlite3.Connection]:
    """A WAL database with 200 rows still in its WAL. The writer's connection stays open:
    SQLite checkpoints (and removes the WAL) itself when the last connection closes."""
    name = str(path / "wal.sqlite3")
    connection = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies back
    connection.execute("CREATE TABLE t (n INTEGER, filler TEXT)")
    for n in range(200):
        connection.execute("INSERT INTO t VALUES (?, ?)", (n, "x" * 500))
    return name, connection


def test_checkpointer_copies_the_whole_wal_back_on_its_own_thread(tmp_path):
    name, writer = _wal_database(tmp_path)
    checkpointer = base.Checkpointer()

    checkpointer.request(name)

    assert wait_for(lambda: checkpointer.runs >= 1, timeout=5, interval=0.01)
    busy, wal_frames, checkpointed = checkpointer.last_result
    assert busy == 0
    assert wal_frames > 0 and checkpointed == wal_frames
    # The rows are in the database file itself now: a reader that ignores the WAL sees them.
    copy = sqlite3.connect(f"file:{name}?immutable=1", uri=True)
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == 200
    writer.close()


def test_checkpointer_survives_a_database_it_cannot_open(tmp_path):
    checkpointer = base.Checkpointer()
    checkpointer.request(str(tmp_path / "missing-dir" / "db.sqlite3"))
    good, writer = _wal_database(tmp_path)
    time.sleep(0.05)

    checkpointer.request(good)

    assert wait_for(lambda: checkpointer.last_result is not None and checkpointer.last_result[1] > 0, timeout=5, interval=0.01)
    writer.close()


@pytest.fixture
def file_database(tmp_path, django_db_blocker):
    """Our engine on a file database of its own (not the test database), registered under
    its own alias for this thread."""
    alias = "checkpoint-test"
    settings_dict = {**connections["default"].settings_dict, "NAME": str(tmp_path / "db.sqlite3"),
                     "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    wrapper = base.DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    with django_db_blocker.unblock():
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("CREATE TABLE t (n INTEGER)")
        yield alias, wrapper
        wrapper.close()
    del connections[alias]


def test_connections_leave_checkpoints_to_the_thread(file_database):
    _, wrapper = file_database
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == base.AUTOCHECKPOINT_PAGES


def test_every_nth_write_transaction_asks_for_a_checkpoint(file_database, monkeypatch):
    alias, wrapper = file_database
    asked: list[str] = []
    monkeypatch.setattr(base.checkpointer, "request", asked.append)
    monkeypatch.setattr(base, "_writes_since_checkpoint", 0)

    for n in range(base.CHECKPOINT_EVERY * 2 + 1):
        with transaction.atomic(using=alias):
            with wrapper.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (%s)", [n])

    assert asked == [wrapper.settings_dict["NAME"]] * 2
