"""``db.read_only``: what a read on the event loop's thread may do before it must move."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from intents.models import Intent
from intents.tests.factories import IntentFactory
from openintent_project.db.read_only import WriteAttempted, read_only, refusing_writes


@pytest.mark.django_db
def test_reads_pass_and_the_first_write_stops_before_it_runs():
    intent = IntentFactory(title="kept")
    with read_only():
        assert refusing_writes()
        assert Intent.objects.get(pk=intent.pk).title == "kept"
        with pytest.raises(WriteAttempted):
            Intent.objects.filter(pk=intent.pk).update(title="changed")
        with pytest.raises(WriteAttempted):
            IntentFactory(title="new")
    assert not refusing_writes()
    assert list(Intent.objects.values_list("title", flat=True)) == ["kept"]
    Intent.objects.filter(pk=intent.pk).update(title="changed")  # outside, writes go through


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "SELECT id FROM intents_intent WHERE id = %s FOR UPDATE",
    "SELECT id FROM intents_intent WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED",
    "select id from intents_intent where id = %s for share",
    "DELETE FROM intents_intent WHERE id = %s",
    "PRAGMA user_version = %s",
])
def test_locking_selects_and_anything_unknown_are_refused_unrun(sql):
    with read_only(), connection.cursor() as cursor, pytest.raises(WriteAttempted):
        cursor.execute(sql, [1])


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_a_transaction_is_refused_before_it_queues_for_the_write_lock():
    """``db.sqlite3`` takes its process lock and file lock before ``BEGIN IMMEDIATE``: a read
    must stop before them, not at the statement."""
    from openintent_project.db.sqlite3 import base

    with read_only(), pytest.raises(WriteAttempted):
        with transaction.atomic():
            Intent.objects.count()
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert base._process_write_lock.acquire(blocking=False)  # not left held
    base._process_write_lock.release()
    with transaction.atomic():
        IntentFactory()
    assert Intent.objects.count() == 1
