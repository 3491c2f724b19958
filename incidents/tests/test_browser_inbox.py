"""A person in headless Chromium labels three alerts from the inbox in one go, with the keyboard."""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.tests.test_browser import log_in, page  # noqa: F401 (the browser fixture)
from incidents.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_label_three_alerts_from_the_inbox_in_one_go(page, live_server, django_user_model, catalog, make_alarms):  # noqa: F811
    vera = django_user_model.objects.create_user("vera", password="pw-vera-123")
    catalog["team"].members.add(vera)
    (alarm,) = make_alarms(catalog["account"], 1, prefix="checkout-api", service=catalog["service"],
                           owner_team=catalog["team"], purpose_detects="Checkout errors above 1%")  # fmt: skip
    alerts = Alert.objects.bulk_create(
        Alert(alarm=alarm, opened_at=T0 + timedelta(hours=i), closed_at=T0 + timedelta(hours=i, minutes=3))
        for i in range(5)
    )
    newest_three = sorted(alerts, key=lambda a: a.opened_at, reverse=True)[:3]

    log_in(page, live_server, "vera", "pw-vera-123", "/alerts/inbox/")
    assert page.inner_text("#inbox-count") == "5"
    assert page.locator("#inbox-table tbody tr").count() == 5
    assert "Checkout errors above 1%" in page.inner_text("#inbox-table")

    # j moves down the rows and x selects, three times; 1 picks the first outcome; Enter applies.
    for _ in range(3):
        page.keyboard.press("j")
        page.keyboard.press("x")
    assert page.locator('#inbox-table input[name="alerts"]:checked').count() == 3
    page.keyboard.press("1")
    assert page.input_value("#id_outcome") == "actioned"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "Labelled 3 alerts" in page.inner_text(".flash-success")
    assert page.inner_text("#inbox-count") == "2"
    left = page.locator("#inbox-table tbody tr").evaluate_all("rows => rows.map(r => Number(r.dataset.alert))")
    assert sorted(left) == sorted(a.pk for a in alerts if a not in newest_three)
    assert set(Alert.objects.filter(pk__in=[a.pk for a in newest_three]).values_list("outcome", "outcome_by")) == {
        ("actioned", vera.pk)
    }
