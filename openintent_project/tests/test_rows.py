"""The compiled single-row statements store and read values exactly as the ORM does."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intents.models import Event, Intent
from intents.tests.factories import IntentFactory
from openintent_project.db import rows

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in Intent._meta.concrete_fields]


def as_dict(instance) -> dict:
    return {name: getattr(instance, name) for name in FIELDS}


def test_get_row_reads_what_the_orm_reads():
    parent = IntentFactory()
    intent = IntentFactory(
        parent=parent, state={"a": [1, {"b": "ü"}], "n": None}, constraints={"max_cost": 3},
        governance_policy={"require_approval": True}, depends_on_ids=[str(parent.pk)],
        confidence=0.25,
    )
    fetched = rows.get_row(Intent, intent.pk)
    assert isinstance(fetched, Intent)
    assert as_dict(fetched) == as_dict(Intent.objects.get(pk=intent.pk))
    assert fetched._state.adding is False and fetched._state.db == "default"
    assert rows.get_row(Intent, intent.pk, for_update=True).pk == intent.pk


def test_get_row_only_reads_the_named_fields_and_defers_the_rest():
    parent = IntentFactory()
    intent = IntentFactory(parent=parent, state={"a": 1}, created_by="alice")
    with CaptureQueriesContext(connection) as queries:
        fetched = rows.get_row(Intent, intent.pk, only=("created_by", "event_sequence"))
    assert len(queries) == 1
    selected = queries[0]["sql"].split(" FROM ")[0]
    assert '"created_by"' in selected and '"event_sequence"' in selected and '"state"' not in selected
    assert fetched.pk == intent.pk and fetched.created_by == "alice"
    assert fetched.get_deferred_fields() == set(FIELDS) - {"id", "created_by", "event_sequence"}
    fetched.refresh_from_db(fields=list(fetched.get_deferred_fields()))  # one query loads the rest
    assert as_dict(fetched) == as_dict(Intent.objects.get(pk=intent.pk))


def test_get_row_of_a_missing_row_is_none():
    assert rows.get_row(Intent, uuid.uuid4()) is None


def test_insert_row_applies_defaults_and_reads_back_equal():
    when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    intent = rows.insert_row(Intent(title="t", created_by="me", state={"k": "v"}, created_at=when, updated_at=when))
    stored = Intent.objects.get(pk=intent.pk)
    assert as_dict(stored) == as_dict(intent)
    assert stored.version == 1 and stored.created_at == when


def test_insert_row_sets_a_database_generated_primary_key():
    intent = IntentFactory()
    event = rows.insert_row(Event(intent=intent, sequence=1, event_type="comment", actor="a", payload={"x": 1}, created_at=datetime.now(timezone.utc)))
    assert isinstance(event.pk, int)
    assert Event.objects.get(pk=event.pk).payload == {"x": 1}
    second = rows.insert_row(Event(intent=intent, sequence=2, event_type="comment", actor="a", payload={}, created_at=datetime.now(timezone.utc)))
    assert second.pk > event.pk


def test_update_row_writes_only_the_named_fields_and_counts_rows():
    intent = IntentFactory(title="before", state={"a": 1})
    intent.title = "not saved"
    intent.state = {"a": 2}
    assert rows.update_row(intent, ("state",)) == 1
    stored = Intent.objects.get(pk=intent.pk)
    assert stored.state == {"a": 2} and stored.title == "before"
    ghost = Intent(title="ghost")
    assert rows.update_row(ghost, ("title",)) == 0


def test_exists_compiles_once_and_sees_new_rows():
    assert rows.exists("test.drafts", lambda: Intent.objects.filter(status="draft")) is False
    IntentFactory(status="draft")
    built = []

    def queryset():
        built.append(1)
        return Intent.objects.filter(status="draft")

    with CaptureQueriesContext(connection) as queries:
        assert rows.exists("test.drafts", queryset) is True
    assert built == []  # compiled on the first call, not again
    assert len(queries) == 1


def test_exists_each_answers_every_query_in_one_statement():
    queries = {
        "test.drafts": lambda: Intent.objects.filter(status="draft"),
        "test.done": lambda: Intent.objects.filter(status="completed"),
    }
    assert rows.exists_each(queries) == {"test.drafts": False, "test.done": False}
    IntentFactory(status="completed")
    with CaptureQueriesContext(connection) as captured:
        assert rows.exists_each(queries) == {"test.drafts": False, "test.done": True}
    assert len(captured) == 1 and captured[0]["sql"].count("EXISTS") == 2


def test_insert_row_unless_conflict_refuses_a_duplicate_without_error():
    from django.db import transaction

    intent = IntentFactory()
    first = Event(intent=intent, sequence=1, event_type="comment", actor="a", payload={}, created_at=datetime.now(timezone.utc))
    assert rows.insert_row_unless_conflict(first) is True and isinstance(first.pk, int)
    with transaction.atomic():
        duplicate = Event(intent=intent, sequence=1, event_type="other", actor="b", payload={}, created_at=datetime.now(timezone.utc))
        assert rows.insert_row_unless_conflict(duplicate) is False  # (intent, sequence) is unique
        assert duplicate.pk is None and duplicate._state.adding is True
        IntentFactory()  # the transaction is still usable
    assert list(Event.objects.filter(intent=intent).values_list("event_type", flat=True)) == ["comment"]


# --- the kept cursor, on our SQLite engine with a file database --------------------------

@pytest.fixture
def file_database(tmp_path, django_db_blocker):
    """Our engine (the unit tests' own database uses Django's) on a WAL file, registered
    under an alias of its own, with the intents table; and the file's name."""
    from django.db import connections

    from openintent_project.db.sqlite3 import base

    alias, name = "rows-file", str(tmp_path / "db.sqlite3")
    settings_dict = {**connections["default"].settings_dict, "NAME": name,
                     "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    wrapper = base.DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    with django_db_blocker.unblock():
        try:
            wrapper.ensure_connection()
            wrapper.connection.execute("PRAGMA journal_mode=WAL")
            with wrapper.schema_editor() as editor:
                editor.create_model(Intent)
            yield alias, name
        finally:
            del connections[alias]
            wrapper.close()


def test_statements_share_one_cursor_per_connection_and_leave_no_read_open(file_database):
    import sqlite3

    from django.db import connections

    alias, name = file_database
    wrapper = connections[alias]
    intent = rows.insert_row(IntentFactory.build(title="before"), using=alias)
    assert rows.get_row(Intent, intent.pk, using=alias).title == "before"
    kept = getattr(wrapper, rows._CURSOR_ATTRIBUTE)
    assert rows.exists("test.file.intents", lambda: Intent.objects.using(alias).all(), using=alias)
    assert getattr(wrapper, rows._CURSOR_ATTRIBUTE) is kept

    other = sqlite3.connect(name, isolation_level=None)
    other.execute("UPDATE intents_intent SET title = 'after'")
    other.close()
    # No statement of the kept cursor still holds a read snapshot: the ORM's next query, on
    # a cursor of its own, and the kept cursor both see the other connection's commit.
    assert Intent.objects.using(alias).get(pk=intent.pk).title == "after"
    assert rows.get_row(Intent, intent.pk, using=alias).title == "after"

    wrapper.close()
    assert rows.get_row(Intent, intent.pk, using=alias).title == "after"  # a new connection
    assert getattr(wrapper, rows._CURSOR_ATTRIBUTE)[0] is wrapper.connection


def test_the_kept_cursor_raises_django_s_errors_and_recorded_queries_still_see_it(file_database):
    from django.db import IntegrityError, connections, transaction

    alias, _ = file_database
    intent = rows.insert_row(IntentFactory.build(), using=alias)
    with pytest.raises(IntegrityError):
        with transaction.atomic(using=alias):
            rows.insert_row(IntentFactory.build(id=intent.pk), using=alias)
    with CaptureQueriesContext(connections[alias]) as queries:
        rows.get_row(Intent, intent.pk, using=alias)
    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")


def test_a_transaction_begins_immediate_straight_on_the_connection(file_database):
    import sqlite3

    from django.db import connections, transaction

    alias, name = file_database
    other = sqlite3.connect(name, isolation_level=None, timeout=0)
    with transaction.atomic(using=alias):
        # IMMEDIATE: the write lock is taken at BEGIN, before any statement writes.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")
    with CaptureQueriesContext(connections[alias]) as queries, transaction.atomic(using=alias):
        pass
    assert [query["sql"] for query in queries] == ["BEGIN IMMEDIATE", "COMMIT"]
    other.close()
