"""A person in headless Chromium opens an alert from the alert list."""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.tests.test_browser import log_in, page  # noqa: F401 (the browser fixture)
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.services.episodes import state_change_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_an_alert_from_the_list(page, live_server, django_user_model, catalog, make_alarms):  # noqa: F811
    django_user_model.objects.create_user("vera", password="pw-vera-123")
    (alarm,) = make_alarms(catalog["account"], 1, prefix="checkout-api", service=catalog["service"])
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for state, when in (("ALARM", at), ("OK", at + timedelta(minutes=6))):
        report = AlarmStateReport(arn=alarm.arn, name=alarm.name, account_id="111111111111", region="eu-west-1",
                                  at=when, new_state=state, reason=f"Threshold Crossed: {state}")  # fmt: skip
        state_change_record(alarm_id=alarm.pk, report=report, source=f"sns:{state}")

    log_in(page, live_server, "vera", "pw-vera-123", "/alerts/")
    assert page.locator("#alert-table tbody tr").count() == 1

    page.click("#alert-table tbody tr td a")
    page.wait_for_url("**/alerts/*/")

    assert alarm.name in page.inner_text("h1")
    assert page.locator("#state-changes tbody tr").count() == 2
    assert "Threshold Crossed: OK" in page.inner_text("#state-changes")
