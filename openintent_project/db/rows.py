"""Single-row reads and writes for the hot paths, without the ORM's per-query compilation.

Django builds and compiles the SQL of a query anew every time it runs it. On this project's
busiest routes (read an intent, append an event, patch state, take a lease) that was most of
a request's time: about 0.4 ms to compile a one-row query on our machine against 20 µs to run
it. These helpers write the SQL of a model's row statements once per database connection and
then only adapt parameters and convert results, with the fields' own methods
(``get_db_prep_save``, ``pre_save``, the backend's and the field's db converters), so values
are stored and read exactly as the ORM would store and read them, on SQLite and PostgreSQL.

They run on Django's connection, so they take part in ``transaction.atomic`` and
``on_commit`` like any ORM query, and a failing statement raises Django's exceptions
(``IntegrityError``, ``OperationalError``) as an ORM query does. They keep one database cursor
per connection instead of opening one per statement (``_cursor``). They do not send
``pre_save``/``post_save`` signals (nothing in this project listens to those); ``post_init``
is sent, as ``Model.from_db`` sends it.
Use them for fixed-shape single-row statements on the hot paths; everything else stays on the
ORM.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

_CACHE_ATTRIBUTE = "_openintent_row_statements"
_CURSOR_ATTRIBUTE = "_openintent_row_cursor"


def _connection(alias: str = DEFAULT_DB_ALIAS):
    return connections[alias]


def _statement(connection, key: tuple, build: Callable[[], Any]):
    """The statement cached under ``key`` on this connection, built on first use. The cache
    is per connection: connections are per thread and long-lived here, and the converters
    are bound to the connection's ``ops``."""
    cache = getattr(connection, _CACHE_ATTRIBUTE, None)
    if cache is None:
        cache = {}
        setattr(connection, _CACHE_ATTRIBUTE, cache)
    statement = cache.get(key)
    if statement is None:
        statement = cache[key] = build()
    return statement


def statements_watched(connection) -> bool:
    """Whether every statement must go through Django's own cursor: while queries are
    recorded (``DEBUG``, ``assertNumQueries``, ``CaptureQueriesContext``) or execute wrappers
    are installed (``read_only``). Code that runs statements straight on the database
    connection for speed asks this first."""
    return connection.queries_logged or bool(connection.execute_wrappers)


@contextlib.contextmanager
def _cursor(connection) -> Iterator[Any]:
    """A cursor to run one statement on, inside Django's error translation.

    Django opens a cursor and wraps it for every statement (``connection.cursor()``):
    10-20 µs a statement here, as long as running one of these statements on SQLite. Here one
    database cursor per open connection is kept and reused (cursors are per thread, as
    connections are, and one statement finishes before the next starts). While queries are
    being recorded (``DEBUG``, ``assertNumQueries``, ``CaptureQueriesContext``) or execute
    wrappers are installed, Django's own cursor is used, so every statement is still seen
    there."""
    if statements_watched(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    if connection.connection is None:
        connection.ensure_connection()
    raw = connection.connection
    kept = getattr(connection, _CURSOR_ATTRIBUTE, None)
    if kept is None or kept[0] is not raw:  # the first statement, or a new connection
        kept = (raw, connection.create_cursor())
        setattr(connection, _CURSOR_ATTRIBUTE, kept)
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        yield kept[1]


class _Select:
    def __init__(self, model: type[Model], connection, for_update: bool, only: tuple[str, ...] | None = None) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        self.model = model
        self.fields = list(meta.concrete_fields)
        if only is not None:
            wanted = {meta.get_field(name).attname for name in only} | {meta.pk.attname}
            self.fields = [field for field in self.fields if field.attname in wanted]
        self.attnames = [field.attname for field in self.fields]
        columns = ", ".join(f"{table}.{quote(field.column)}" for field in self.fields)
        self.sql = f"SELECT {columns} FROM {table} WHERE {table}.{quote(meta.pk.column)} = %s"
        if for_update and connection.features.has_select_for_update:
            self.sql += " FOR UPDATE"
        self.converters = []
        for index, field in enumerate(self.fields):
            column = field.get_col(meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                self.converters.append((index, column, functions))

    def run(self, connection, pk: Any):
        pk_field = self.model._meta.pk
        with _cursor(connection) as cursor:
            cursor.execute(self.sql, [pk_field.get_db_prep_value(pk, connection)])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, column, functions in self.converters:
            value = values[index]
            for convert in functions:
                value = convert(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def get_row(
    model: type[Model], pk: Any, *, for_update: bool = False, only: tuple[str, ...] | None = None,
    using: str = DEFAULT_DB_ALIAS,
):
    """The instance with primary key ``pk``, or None. ``pk`` must already be of the right
    type (callers parse ids from URLs first). ``for_update`` locks the row on databases that
    have row locks (SELECT … FOR UPDATE); call it inside ``transaction.atomic``. ``only``
    reads just those fields (and the primary key), as ``QuerySet.only`` does: the others are
    deferred, and reading one later costs a query."""
    connection = _connection(using)
    statement = _statement(
        connection, ("select", model, for_update, only), lambda: _Select(model, connection, for_update, only)
    )
    return statement.run(connection, pk)


class _Insert:
    def __init__(self, model: type[Model], connection, with_pk: bool, unless_conflict: bool) -> None:
        meta = model._meta
        if meta.parents:
            raise TypeError(f"{model.__name__}: multi-table inheritance is not supported here")
        quote = connection.ops.quote_name
        pk_field = meta.pk
        self.fields = [field for field in meta.local_concrete_fields if with_pk or field is not pk_field]
        self.returning = None if with_pk else pk_field
        columns = ", ".join(quote(field.column) for field in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
        if unless_conflict:
            # SQLite ≥ 3.24 and PostgreSQL: a refused row is a no-op, not an error, so the
            # transaction stays usable (PostgreSQL would otherwise need a savepoint).
            self.sql += " ON CONFLICT DO NOTHING"
        self.use_returning = self.returning is not None and connection.features.can_return_columns_from_insert
        if self.use_returning:
            self.sql += f" RETURNING {quote(pk_field.column)}"

    def run(self, connection, instance: Model) -> bool:
        params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in self.fields]
        with _cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            if self.use_returning:
                row = cursor.fetchone()
                inserted = row is not None
                if inserted:
                    setattr(instance, self.returning.attname, row[0])
            else:
                inserted = cursor.rowcount == 1
                if inserted and self.returning is not None:
                    setattr(instance, self.returning.attname, cursor.lastrowid)
        if inserted:
            instance._state.adding = False
            instance._state.db = connection.alias
        return inserted


def _insert(instance: Model, using: str, unless_conflict: bool) -> bool:
    connection = _connection(using)
    model = type(instance)
    with_pk = not (model._meta.pk.db_returning and instance.pk is None)
    statement = _statement(
        connection, ("insert", model, with_pk, unless_conflict),
        lambda: _Insert(model, connection, with_pk, unless_conflict),
    )
    return statement.run(connection, instance)


def insert_row(instance: Model, *, using: str = DEFAULT_DB_ALIAS) -> Model:
    """INSERT ``instance`` (defaults and ``auto_now`` values applied as ``save()`` would) and
    set its primary key when the database generates it. Returns the instance."""
    _insert(instance, using, unless_conflict=False)
    return instance


def insert_row_unless_conflict(instance: Model, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """INSERT ``instance`` unless a unique constraint (or primary key) already holds an equal
    row; True if it was inserted. The refused insert changes nothing and raises nothing."""
    return _insert(instance, using, unless_conflict=True)


class _Update:
    def __init__(self, model: type[Model], connection, field_names: tuple[str, ...]) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        self.fields = [meta.get_field(name) for name in field_names]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in self.fields)
        self.sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"

    def run(self, connection, instance: Model) -> int:
        params = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in self.fields]
        params.append(instance._meta.pk.get_db_prep_value(instance.pk, connection))
        with _cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            return cursor.rowcount


def update_row(instance: Model, field_names: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> int:
    """UPDATE the named fields of ``instance``'s row (``save(update_fields=…)`` without the
    signals). Returns the number of rows changed (0 if the row is gone)."""
    connection = _connection(using)
    model, names = type(instance), tuple(field_names)
    statement = _statement(connection, ("update", model, names), lambda: _Update(model, connection, names))
    return statement.run(connection, instance)


def exists_each(queries: dict[str, Callable[[], QuerySet]], *, using: str = DEFAULT_DB_ALIAS) -> dict[str, bool]:
    """For each named fixed query (no varying parameters), whether it has a row, all in one
    statement (``SELECT EXISTS (…), EXISTS (…)``), compiled once per connection for this set
    of names."""
    connection = _connection(using)
    names = tuple(queries)

    def build() -> tuple[str, tuple]:
        parts, params = [], []
        for name in names:
            sql, query_params = queries[name]().query.exists().get_compiler(connection=connection).as_sql()
            parts.append(f"EXISTS ({sql})")
            params.extend(query_params)
        return f"SELECT {', '.join(parts)}", tuple(params)

    sql, params = _statement(connection, ("exists_each", names), build)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {name: bool(value) for name, value in zip(names, row)}


def exists(name: str, queryset: Callable[[], QuerySet], *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether a fixed query (no varying parameters) has a row: ``exists_each`` of one."""
    return exists_each({name: queryset}, using=using)[name]
