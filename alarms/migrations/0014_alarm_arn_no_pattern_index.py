"""PostgreSQL gives a unique text column a second index for LIKE 'prefix%' (``varchar_pattern_ops``). Nothing
looks an alarm up by a prefix of its ARN, and every sync insert and rule update pays for each index."""

from django.db import migrations

INDEX = "alarms_alarm_arn_7ec00566_like"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON alarms_alarm (arn varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [("alarms", "0013_alarm_account_index_covered")]

    operations = [migrations.RunPython(drop, create)]
