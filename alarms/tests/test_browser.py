"""A person in headless Chromium: logs in and narrows the alarm list with a filter."""

import os
import shutil
from urllib.parse import urlparse

import pytest

from alarms.models import Alarm

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

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        foreign = []
        page.on(
            "request", lambda r: urlparse(r.url).hostname not in ("localhost", "127.0.0.1") and foreign.append(r.url)
        )
        yield page
        browser.close()
        assert foreign == [], f"the page tried to load from elsewhere: {foreign}"


def test_log_in_and_filter_alarms_by_owner_team(page, live_server, django_user_model, catalog, make_alarms):
    from alarms.models import Team

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
