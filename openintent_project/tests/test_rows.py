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
