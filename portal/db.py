"""Database writes the ORM has, but too slowly for the sync's and the rules' hot paths."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import count

from django.db import connections, models, router, transaction

# Staging tables live until their transaction ends; a number keeps two in one transaction apart.
_staging_numbers = count()


def upsert_rows(
    model: type[models.Model], rows: Sequence[dict], *, unique_field: str, update_fields: Sequence[str]
) -> int:
    """Insert rows given as ``{column: value}``, or update ``update_fields`` where ``unique_field`` exists.

    The same ``INSERT … ON CONFLICT … DO UPDATE`` as ``bulk_create(update_conflicts=True)``, without its
    per-row cost: with forty columns, building a model per row and preparing each value through the SQL
    compiler costs more than the database spends writing. Returns the number of rows sent.
    """
    if not rows:
        return 0
    meta = model._meta
    quote = connections[router.db_for_write(model)].ops.quote_name
    on_conflict = f"ON CONFLICT ({quote(meta.get_field(unique_field).column)}) DO UPDATE SET " + ", ".join(
        f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (meta.get_field(name).column for name in update_fields)
    )
    return _execute(model, _as_lists(model, rows), on_conflict)


def insert_rows(model: type[models.Model], rows: Sequence[dict]) -> int:
    """Plain INSERT of many rows given as ``{column: value}``, through the same fast path."""
    if not rows:
        return 0
    return _execute(model, _as_lists(model, rows), None)


def _fields(model: type[models.Model]) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _as_lists(model: type[models.Model], rows: Sequence[dict]) -> list[list]:
    """Rows in column order; a missing column takes the field's default."""
    defaults = {f.column: f.get_default() for f in _fields(model)}
    columns = list(defaults)
    return [[row[c] if c in row else defaults[c] for c in columns] for row in rows]


def _execute(model: type[models.Model], rows: list[list], on_conflict: str | None) -> int:
    """PostgreSQL takes the rows by COPY (an upsert through a staging table), SQLite by one executemany.
    Only identifiers from the model's own metadata, quoted by the backend, go into the SQL text."""
    fields = _fields(model)
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    if connection.vendor == "postgresql":
        _copy_rows(connection, model, fields, rows, on_conflict)
        return len(rows)
    convert = [_sqlite_converter(f, connection) for f in fields]
    prepared = [[c(v) if c else v for c, v in zip(convert, row, strict=True)] for row in rows]
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict or ''}",  # noqa: S608
            prepared,
        )
    return len(rows)


def _copy_rows(connection, model, fields: list, rows: list[list], on_conflict: str | None) -> None:
    """COPY is the cheapest way into PostgreSQL, for the client and the server alike. COPY cannot resolve
    conflicts, so an upsert copies into a staging table dropped with the statement's transaction and
    inserts from there."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    as_json = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        target = table
        if on_conflict is not None:
            target = quote(f"staging_{model._meta.db_table}_{next(_staging_numbers)}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
        # The driver's own cursor: its errors wrapped as Django's (IntegrityError…), as the ORM's are.
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:  # lists made for this call (_as_lists): converted in place
                for i in as_json:
                    if row[i] is not None:
                        row[i] = _json_text(row[i])
                copy.write_row(row)
        if on_conflict is not None:
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} {on_conflict}")  # noqa: S608
            cursor.execute(f"DROP TABLE {target}")


def without_commit_wait() -> None:
    """Let the current transaction's commit return before PostgreSQL flushes its WAL to disk.

    Only for derived data the next run rewrites anyway (a sync page): after a crash it may be missing, never
    corrupt. A no-op elsewhere."""
    connection = connections["default"]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def update_in_batches(model: type[models.Model], ids: Sequence[int], **values) -> int:
    """UPDATE rows by primary key to the same values: on PostgreSQL in one statement (the ids as one array),
    elsewhere as many ids per statement as the backend binds (SQLite: 999)."""
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        return update_by_pk(model, dict.fromkeys(ids, values))
    limit = connection.features.max_query_params
    batch = limit - len(values) - 10 if limit else 5000
    return sum(model.objects.filter(pk__in=ids[i : i + batch]).update(**values) for i in range(0, len(ids), batch))


def update_by_pk(model: type[models.Model], changes: Mapping[int, Mapping[str, object]]) -> int:
    """Give each row (by primary key) its own values of the same fields: on PostgreSQL one UPDATE joined to
    the values as arrays, elsewhere one UPDATE per distinct set of values. A rules run changes hundreds of
    alarms in a dozen different ways; an ORM UPDATE per way costs more in the client than in the database."""
    if not changes:
        return 0
    names = list(next(iter(changes.values())))
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        groups: dict[tuple, list[int]] = defaultdict(list)
        for pk, values in changes.items():
            groups[tuple(values[name] for name in names)].append(pk)
        return sum(update_in_batches(model, ids, **dict(zip(names, key, strict=True))) for key, ids in groups.items())
    quote = connection.ops.quote_name
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in names)]
    columns = [quote(f.column) for f in fields]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    pks = list(changes)
    params = [pks, *([changes[pk][name] for pk in pks] for name in names)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(model._meta.db_table)} AS t SET {assignments} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(columns)}) WHERE t.{columns[0]} = v.{columns[0]}",
            params,
        )
        return cursor.rowcount


def _sqlite_converter(field, connection):
    """What Django's get_db_prep_save does for the field, resolved once per column instead of per value.
    JSON and datetimes need converting; text, numbers and booleans go to sqlite3 as they are."""
    if isinstance(field, models.JSONField):
        return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField | models.DecimalField | models.TimeField | models.UUIDField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} through a bulk insert")


_dumps = json.JSONEncoder(default=_json_default).encode  # built once: json.dumps(default=…) builds one per call


def _json_text(value) -> str:
    """A JSON column's value as COPY's text format takes it (the server parses it); dates as ISO strings.
    Most are empty: those skip the encoder."""
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    return _dumps(value)


def advisory_xact_lock(namespace: int, ids) -> None:
    """Take PostgreSQL transaction-level advisory locks on ``(namespace, id)`` for each id, in order, released
    at the end of the caller's transaction. They serialise writers of something that has no row of its own to
    lock (an incident not created yet) without locking any table's row. SQLite serialises every write anyway."""
    connection = connections["default"]
    keys = sorted(set(ids))
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            # unnest keeps the array's (sorted) order: every caller takes its locks in the same order.
            "SELECT pg_advisory_xact_lock(%s::bigint * 4294967296 + k) FROM unnest(%s::bigint[]) AS k",
            [namespace, keys],
        )
