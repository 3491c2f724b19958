"""Database writes the ORM has, but too slowly for the sync's and the rules' hot paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from django.db import connections, models, router


def bulk_upsert(objs: Sequence[models.Model], *, unique_field: str, update_fields: Sequence[str]) -> int:
    """Insert the rows, or update ``update_fields`` of the rows whose ``unique_field`` already exists.

    The same ``INSERT … ON CONFLICT … DO UPDATE`` as ``bulk_create(update_conflicts=True)``, without its
    per-value cost: with forty columns, Django spends far longer preparing and quoting each value than the
    database spends writing the rows. Returns the number of rows sent.
    """
    if not objs:
        return 0
    meta = type(objs[0])._meta
    quote = connections[router.db_for_write(type(objs[0]))].ops.quote_name
    on_conflict = f"ON CONFLICT ({quote(meta.get_field(unique_field).column)}) DO UPDATE SET " + ", ".join(
        f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (meta.get_field(name).column for name in update_fields)
    )
    return _insert(objs, on_conflict)


def bulk_insert(objs: Sequence[models.Model]) -> int:
    """Plain INSERT of many model instances, through the same fast path."""
    return _insert(objs, "")


def insert_rows(model: type[models.Model], rows: Sequence[dict]) -> int:
    """Plain INSERT of many rows given as ``{column: value}``, without building a model per row."""
    if not rows:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return _execute(model, [[row.get(f.column, f.get_default()) for f in fields] for row in rows], fields, "")


def _insert(objs: Sequence[models.Model], on_conflict: str) -> int:
    if not objs:
        return 0
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return _execute(model, [[f.pre_save(obj, True) for f in fields] for obj in objs], fields, on_conflict)


def _execute(model: type[models.Model], rows: list[list], fields: list, on_conflict: str) -> int:
    """PostgreSQL gets all rows as one JSON document that it expands itself; SQLite one executemany."""
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
                f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) {on_conflict}",
                [document],
            )
        else:
            convert = [_sqlite_converter(f, connection) for f in fields]
            prepared = [[c(v) if c else v for c, v in zip(convert, row, strict=True)] for row in rows]
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict}", prepared)  # noqa: S608
    return len(rows)


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
