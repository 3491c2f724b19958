"""Room on every page of the alarm table for a row's next version.

Every refresh rewrites rows right after inserting them (orphan flags, rule assignments) and every sync
rewrites the alarms whose state changed. With free space on the page, an update that changes no indexed
column stays on the page and touches no index (a HOT update). PostgreSQL only; SQLite has no such setting.
"""

from django.db import migrations

FILLFACTOR = 70


def set_fillfactor(apps, schema_editor, value=FILLFACTOR):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("alarms", "Alarm")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=100)


class Migration(migrations.Migration):
    dependencies = [("alarms", "0006_alarm_extra_settings")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
