"""The mapping rules a fresh install starts with: service and team from the tag keys discovery reads
(OKAMI_DISCOVER_TAG_KEYS), then the CloudFormation stack as the service when nothing else names one.
Ordinary rules: visible, editable and removable on the rules page. An install that already has rules
keeps them as they are."""

from django.conf import settings
from django.db import migrations


def default_rules():
    keys = settings.OKAMI_DISCOVER_TAG_KEYS
    rules = [(key, "service") for key in keys["services"]] + [(key, "team") for key in keys["teams"]]
    made = [
        {
            "position": 10 * place,
            "name": f"{field.capitalize()} from the {key} tag",
            "match": "tag",
            "tag_key": key,
            "pattern": "*",
            f"{field}_from_value": True,
        }
        for place, (key, field) in enumerate(rules, start=1)
    ]
    if settings.OKAMI_DISCOVER_STACK_TAG:
        made.append(
            {
                "position": 900,
                "name": "Service from the CloudFormation stack",
                "match": "tag",
                "tag_key": settings.OKAMI_DISCOVER_STACK_TAG,
                "pattern": "*",
                "service_from_value": True,
            }
        )
    return made


def create(apps, schema_editor):
    MappingRule = apps.get_model("alarms", "MappingRule")
    if MappingRule.objects.exists():
        return
    MappingRule.objects.bulk_create([MappingRule(**rule) for rule in default_rules()])


class Migration(migrations.Migration):
    dependencies = [("alarms", "0008_discovery_aliases_suggestions")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
