"""The dashboard's alert figures: how many alerts, how many carry an outcome, open incidents, and the median time
to first response, computed in the database."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Alert, Incident
from incidents.selectors import alert_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(catalog, make_alarms):
    (alarm,) = make_alarms(catalog["account"], 1, service=catalog["service"])
    now = timezone.now()
    opened = [now - timedelta(days=d) for d in (1, 2, 3, 4, 40)]
    responses = [timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=4), None, timedelta(minutes=1)]
    outcomes = [("actioned", False), ("transient", True), ("no_action", False), ("", False), ("actioned", False)]
    Alert.objects.bulk_create(
        Alert(alarm=alarm, opened_at=at, closed_at=at + timedelta(minutes=20), outcome=outcome,
              outcome_inferred=inferred, first_response_at=at + response if response else None)
        for at, response, (outcome, inferred) in zip(opened, responses, outcomes, strict=True)
    )  # fmt: skip
    Incident.objects.create(service=catalog["service"], title="open", opened_at=now, last_alert_at=now)
    return now


def test_the_summary_counts_the_period_and_takes_the_median_first_response(month):
    summary = alert_summary(since=month - timedelta(days=30))

    assert (summary.alerts, summary.labelled, summary.inferred, summary.open_incidents) == (4, 3, 1, 1)
    assert summary.responded == 3
    assert summary.median_first_response == timedelta(minutes=4)  # of 2, 4 and 10; the 40-day-old one is out


def test_the_dashboard_shows_the_alert_figures(month, client, viewer):
    client.force_login(viewer)

    page = client.get(reverse("dashboard")).content.decode()

    tiles = page.split('id="alert-tiles"')[1].split("</div>\n<div")[0]
    assert ">75%<" in tiles and "(1 inferred)" in tiles and "4 min 0 s" in tiles
