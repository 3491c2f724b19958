"""A person in headless Chromium: logs in and narrows the alarm list with a filter."""

import os
import shutil
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Permission
from django.db import connections

from alarms.models import Alarm, Team
from alarms.services.suggested_purpose import suggestion_columns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

LOCAL_HOSTS = ("localhost", "127.0.0.1")


@pytest.fixture
def page(live_server, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are safe.
    # Set for these tests only: a process started later (the deploy check) must not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        foreign, failed = [], []
        page.on("request", lambda r: urlparse(r.url).hostname not in LOCAL_HOSTS and foreign.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} {r.status}"))
        yield page
        browser.close()
        # The test's ORM calls ran in Playwright's loop context, on a connection of their own that the
        # database teardown cannot see: closed here, or PostgreSQL refuses to drop the test database.
        connections.close_all()
        assert foreign == [], f"the page tried to load from elsewhere: {foreign}"
        assert failed == [], f"requests failed: {failed}"


def log_in(page, live_server, username: str, password: str, path: str) -> None:
    """Sign in through the login page and land on ``path``."""
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


def test_log_in_and_filter_alarms_by_owner_team(page, live_server, django_user_model, catalog, make_alarms):
    django_user_model.objects.create_user("vera", password="pw-vera-123")
    storefront = Team.objects.create(slug="storefront", name="Storefront")
    make_alarms(catalog["account"], 3, prefix="checkout", owner_team=catalog["team"])
    make_alarms(catalog["account"], 4, prefix="search", owner_team=storefront)

    page.goto(f"{live_server.url}/alarms/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "vera")
    page.fill("#id_password", "pw-vera-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/alarms/")
    assert page.locator("#alarm-table tbody tr").count() == 7

    page.select_option("select[name=owner_team]", "payments")
    page.click("#alarm-filters button[type=submit]")
    page.wait_for_url("**owner_team=payments**")

    shown = page.locator("#alarm-table td.name").all_inner_texts()
    assert sorted(shown) == sorted(Alarm.objects.filter(owner_team=catalog["team"]).values_list("name", flat=True))
    assert not any(name.startswith("search") for name in shown)


def test_bulk_assign_a_filtered_set_of_alarms_to_a_team(page, live_server, django_user_model, catalog, make_alarms):
    editor = django_user_model.objects.create_user("eddie", password="pw-eddie-123")
    editor.user_permissions.add(Permission.objects.get(codename="change_alarm_governance"))
    Team.objects.create(slug="storefront", name="Storefront")
    make_alarms(catalog["account"], 3, prefix="search-prod")
    make_alarms(catalog["account"], 2, prefix="cart-prod")

    log_in(page, live_server, "eddie", "pw-eddie-123", "/alarms/")
    page.fill("input[name=search]", "search-prod")
    page.click("#alarm-filters button[type=submit]")
    page.wait_for_url("**search=search-prod**")

    page.select_option("#bulk-form select[name=scope]", "filtered")
    page.select_option("#bulk-form select[name=owner_team]", label="Storefront")
    page.click("#bulk-form button[type=submit]")

    # Nothing is written until the person has seen how many alarms, and which, the filters select.
    assert "Assign 3 alarms?" in page.inner_text("h1")
    assert not Alarm.objects.filter(owner_team__slug="storefront").exists()
    page.click("#bulk-confirm button[type=submit]")
    page.wait_for_selector(".flash-success")

    assert "Updated 3 of 3 alarms" in page.inner_text(".flash-success")
    assert set(Alarm.objects.filter(owner_team__slug="storefront").values_list("name", flat=True)) == {
        f"search-prod-{i}-Errors" for i in range(3)
    }
    assert not Alarm.objects.filter(name__startswith="cart", owner_team__isnull=False).exists()


def test_accept_the_suggested_purpose_of_the_alarms_of_one_service(
    page, live_server, django_user_model, catalog, make_alarms
):
    editor = django_user_model.objects.create_user("eddie", password="pw-eddie-123")
    editor.user_permissions.add(Permission.objects.get(codename="change_alarm_governance"))
    definition = dict(namespace="AWS/Lambda", metric_name="Errors", statistic="Sum", period=60, threshold=1.0,
                      comparison_operator="GreaterThanThreshold")  # fmt: skip
    make_alarms(catalog["account"], 3, prefix="checkout", service=catalog["service"], **definition)
    make_alarms(catalog["account"], 2, prefix="search", **definition)
    for alarm in Alarm.objects.all():
        alarm.dimensions = {"FunctionName": alarm.name.removesuffix("-Errors")}
        for name, value in suggestion_columns(alarm).items():
            setattr(alarm, name, value)
        alarm.save()

    log_in(page, live_server, "eddie", "pw-eddie-123", "/coverage/")
    assert page.inner_text("#suggested-tile .figure") == "5"
    page.click("#suggested-tile")
    page.wait_for_url("**suggested=true**")
    page.select_option("select[name=service]", "checkout")
    page.click("#alarm-filters button[type=submit]")
    page.wait_for_url("**service=checkout**")
    assert page.locator("#alarm-table .badge-purple").count() == 3

    page.select_option("#bulk-form select[name=scope]", "filtered")
    page.check("#bulk-form input[name=accept_suggestions]")
    page.click("#bulk-form button[type=submit]")
    assert "Their suggested purpose" in page.inner_text("#bulk-confirm")
    page.click("#bulk-confirm button[type=submit]")
    page.wait_for_selector(".flash-success")

    assert "Accepted the suggestions of 3 of 3 alarms" in page.inner_text(".flash-success")
    accepted = Alarm.objects.exclude(purpose_detects="")
    assert set(accepted.values_list("name", flat=True)) == {f"checkout-{i}-Errors" for i in range(3)}
    assert accepted.get(name="checkout-0-Errors").purpose_detects == "More than 1 error a minute in `checkout-0`."
