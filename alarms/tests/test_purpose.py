"""Every count of "has a purpose" means the same thing: all three questions answered."""

import pytest

from alarms.models import Alarm
from alarms.selectors import dashboard_summary
from alarms.selectors.coverage import coverage_estate

pytestmark = pytest.mark.django_db

FULL = {"purpose_detects": "5xx", "purpose_customer_impact": "orders fail", "purpose_action": "roll back"}


def test_dashboard_coverage_list_and_alarm_page_agree_on_what_has_a_purpose(client, viewer, catalog, make_alarms):
    complete, no_action, empty = make_alarms(catalog["account"], 3)
    Alarm.objects.filter(pk=complete.pk).update(**FULL)
    Alarm.objects.filter(pk=no_action.pk).update(**{**FULL, "purpose_action": ""})

    assert dashboard_summary().without_purpose == 2
    assert coverage_estate().with_purpose == 1
    client.force_login(viewer)
    assert 'href="/alarms/?has_purpose=false"' in client.get("/").content.decode()
    listed = client.get("/alarms/?has_purpose=false").context["page"].object_list
    assert sorted(a.pk for a in listed) == [no_action.pk, empty.pk]
    assert [a.has_purpose for a in Alarm.objects.order_by("pk")] == [True, False, False]
