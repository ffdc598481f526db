"""Our SQLite engine's cursor converts each statement's placeholders once per SQL text."""

from __future__ import annotations

import pytest
from django.db import connections

from openintent_project.db.sqlite3 import base


@pytest.fixture
def cursor(tmp_path, django_db_blocker):
    """A cursor of our engine (the unit tests' own database uses Django's) on a file of its own."""
    wrapper = base.DatabaseWrapper({**connections["default"].settings_dict, "NAME": str(tmp_path / "db.sqlite3")}, "cursor-test")
    with django_db_blocker.unblock():
        with wrapper.cursor() as cursor:
            yield cursor
        wrapper.close()


def test_a_statement_is_converted_once_and_runs_as_django_s_would(cursor):
    assert isinstance(cursor.cursor, base.CursorWrapper)
    base._qmark_style.cache_clear()
    sql = "SELECT %s, %s || '100%%', '%%s'"
    for n in range(3):
        cursor.execute(sql, [n, "up "])
        assert cursor.fetchone() == (n, "up 100%", "%s")
    info = base._qmark_style.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_named_parameters_and_statements_without_parameters_still_work(cursor):
    cursor.execute("SELECT %(a)s + %(b)s", {"a": 2, "b": 3})
    assert cursor.fetchone() == (5,)
    cursor.execute("SELECT '50%'")
    assert cursor.fetchone() == ("50%",)
    cursor.execute("CREATE TABLE t (n INTEGER)")
    cursor.executemany("INSERT INTO t VALUES (%s)", [[1], [2]])
    cursor.execute("SELECT SUM(n) FROM t")
    assert cursor.fetchone() == (3,)
