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
    """Plain INSERT of many rows (audit entries), through the same fast path."""
    return _insert(objs, "")


def _insert(objs: Sequence[models.Model], on_conflict: str) -> int:
    """PostgreSQL gets all rows as one JSON document that it expands itself; SQLite one executemany."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    # Only identifiers from the model's own metadata, quoted by the backend, go into the SQL text.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            document = json.dumps([{f.column: f.pre_save(obj, True) for f in fields} for obj in objs], default=_json)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) {on_conflict}",
                [document],
            )
        else:
            rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict}", rows)  # noqa: S608
    return len(objs)


def update_in_batches(model: type[models.Model], ids: Sequence[int], batch: int = 500, **values) -> int:
    """UPDATE rows by primary key, a bounded number of ids per statement (SQLite caps bound variables)."""
    return sum(model.objects.filter(pk__in=ids[i : i + batch]).update(**values) for i in range(0, len(ids), batch))


def _json(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} through a bulk insert")
