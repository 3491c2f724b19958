"""Database writes the ORM has, but too slowly for the sync's and the rules' hot paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from django.db import connections, models, router


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
    return _execute(model, _as_lists(model, rows), "")


def _fields(model: type[models.Model]) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _as_lists(model: type[models.Model], rows: Sequence[dict]) -> list[list]:
    """Rows in column order; a missing column takes the field's default."""
    defaults = {f.column: f.get_default() for f in _fields(model)}
    columns = list(defaults)
    return [[row[c] if c in row else defaults[c] for c in columns] for row in rows]


def _execute(model: type[models.Model], rows: list[list], on_conflict: str) -> int:
    """PostgreSQL gets all rows as one JSON document that it expands itself; SQLite one executemany."""
    fields = _fields(model)
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    # Only identifiers from the model's own metadata, quoted by the backend, go into the SQL text.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f.column for f in fields]
            document = json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=_json)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM json_populate_recordset(NULL::{table}, %s::json) {on_conflict}",
                [document],
            )
        else:
            convert = [_sqlite_converter(f, connection) for f in fields]
            prepared = [[c(v) if c else v for c, v in zip(convert, row, strict=True)] for row in rows]
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict}", prepared)  # noqa: S608
    return len(rows)


def without_commit_wait() -> None:
    """Let the current transaction's commit return before PostgreSQL flushes its WAL to disk.

    Only for derived data the next run rewrites anyway (a sync page): after a crash it may be missing, never
    corrupt. A no-op elsewhere."""
    connection = connections["default"]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def update_in_batches(model: type[models.Model], ids: Sequence[int], **values) -> int:
    """UPDATE rows by primary key, as many ids per statement as the backend binds (SQLite: 999)."""
    limit = connections[router.db_for_write(model)].features.max_query_params
    batch = limit - len(values) - 10 if limit else 5000
    return sum(model.objects.filter(pk__in=ids[i : i + batch]).update(**values) for i in range(0, len(ids), batch))


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


def _json(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} through a bulk insert")
