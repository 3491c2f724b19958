"""The noise report over a planted history: known alerts with known outcomes, times and tiers, and the exact
figures the report, its page, its CSV files and its API must show; a constant number of queries however much
history there is.

``NOW`` is Wednesday 2026-03-11 10:00 UTC; the report's twelve weeks run from Monday 2025-12-22 (2025-W52) to
now (2026-W11). Durations are in seconds."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alarms.models import Alarm, Service, Team
from alarms.review.models import Review
from alarms.review.report import REPORT_QUERIES, TABLES, report_from_params
from alarms.review.tests.planted import make_alarm
from incidents.models import Alert, TeamAlertPolicy
from incidents.report_selectors import ReportScope, median_first_response, weekly_counts

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
THIS_WEEK = datetime(2026, 3, 9, tzinfo=UTC)  # 2026-W11
SINCE = datetime(2025, 12, 22, tzinfo=UTC)  # 2025-W52, eleven weeks earlier
MIN = timedelta(minutes=1)


def week(offset: int, hours: float = 10) -> datetime:
    """``offset`` weeks before this week's Monday, ``hours`` into that Monday."""
    return THIS_WEEK - timedelta(weeks=offset) + timedelta(hours=hours)


@pytest.fixture
def frozen(monkeypatch):
    """The report (and its clipping of open alerts) sees NOW as the present."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def alarm(account, name, *, tier="page", **fields) -> Alarm:
    return make_alarm(account, name, tier=tier, purpose=False, **fields)


def alerts(alarm, *specs):
    """(opened, lasted or None while open, outcome[, responded after])."""
    Alert.objects.bulk_create(
        Alert(
            alarm=alarm,
            opened_at=opened,
            closed_at=None if lasted is None else opened + lasted,
            outcome=outcome,
            first_response_at=opened + rest[0] if rest else None,
        )
        for opened, lasted, outcome, *rest in specs
    )


@pytest.fixture
def history(catalog):
    """Payments (budget 3 a week; first reviewed in 2026-W09) owns checkout and ledger; search (the default
    budget, 15) owns index; one alarm has no owner."""
    account, payments, checkout = catalog["account"], catalog["team"], catalog["service"]
    TeamAlertPolicy.objects.create(team=payments, weekly_page_budget=3)
    ledger = Service.objects.create(slug="ledger", name="Ledger", team=payments)
    search = Team.objects.create(slug="search", name="Search")
    index = Service.objects.create(slug="index", name="Index", team=search)
    api = alarm(account, "api-5xx", team=payments, service=checkout)
    latency = alarm(account, "checkout-latency", team=payments, service=checkout)
    lambda_errors = alarm(account, "lambda-errors", team=payments, service=checkout, tier="ticket")
    ledger_lag = alarm(account, "ledger-lag", team=payments, service=ledger, actions_enabled=False)  # muted page
    index_latency = alarm(account, "index-latency", team=search, service=index)
    stuck = alarm(account, "stuck-disk", team=search, service=index, tier="ticket")
    slow_queue = alarm(account, "slow-queue", team=search, service=index, tier="ticket")
    stray = alarm(account, "stray", tier="")

    # 2026-W06: a storm of twenty transient pages, 2 minutes each, nobody answering.
    alerts(api, *[(week(5, 1 + i * 0.5), 2 * MIN, "transient") for i in range(20)])
    # 2026-W08
    alerts(stray, (week(3), 10 * MIN, "no_action"))
    # 2026-W09
    alerts(api, (week(2), 20 * MIN, "actioned", 6 * MIN))
    alerts(ledger_lag, (week(2, 11), 3 * MIN, "transient"), (week(2, 12), 3 * MIN, "transient"))
    alerts(index_latency, (week(2, 13), 5 * MIN, "false_positive", 1 * MIN), (week(2, 14), 2 * MIN, "transient"))
    # 2026-W10: four pages for payments, one over its budget of three.
    alerts(
        api,
        (week(1), 20 * MIN, "actioned", 4 * MIN),
        (week(1, 11), 60 * MIN, "customer_impact", 2 * MIN),
        (week(1, 13), 2 * MIN, "transient"),
    )
    alerts(latency, (week(1, 14), 15 * MIN, "no_action", 10 * MIN))
    alerts(lambda_errors, (week(1, 15), 10 * MIN, "duplicate"), (week(1, 16), 10 * MIN, ""))
    # 2026-W11 (this week): one page still open since two hours, one actioned.
    alerts(api, (NOW - timedelta(hours=2), None, ""))
    alerts(index_latency, (week(0, 1), 30 * MIN, "actioned", 3 * MIN))
    # Before the window: an alert long closed (left out), one still open (in ALARM the whole window), one that
    # ran into the window's first two hours.
    alerts(api, (week(13), 5 * MIN, "actioned", 1 * MIN))
    alerts(stuck, (week(13), None, ""))
    alerts(slow_queue, (SINCE - timedelta(hours=1), 3 * 60 * MIN, ""))

    Review.objects.create(team=payments, week="2026-W09", opened_at=week(2, 6), lookback_days=90)
    Review.objects.create(team=payments, week="2026-W11", opened_at=week(0, 6), lookback_days=90)
    return {"payments": payments, "search": search, "index": index, "ledger": ledger}


def report(**params):
    form, built = report_from_params(params, now=NOW)
    assert built is not None, form.errors
    return built


def by(rows, key):
    return {row[key]: row for row in rows}


# --- the figures ----------------------------------------------------------------------------------------


def test_weekly_notifications_by_team_and_service_with_the_page_tier_apart(frozen, history):
    r = report()
    assert r.since == SINCE and len(r.weeks) == 12
    weekly = {w["week"]: (w["page"], w["other"]) for w in r.tables["weeks"] if w["notifications"]}
    assert weekly == {
        "2026-W06": (20, 0),
        "2026-W08": (0, 1),
        "2026-W09": (3, 2),
        "2026-W10": (4, 2),
        "2026-W11": (2, 0),
    }
    rows = {(w["week"], w["team"], w["service"]): (w["notifications"], w["page"]) for w in r.tables["weekly"]}
    assert rows == {
        ("2026-W06", "payments", "checkout"): (20, 20),
        ("2026-W08", "", ""): (1, 0),
        ("2026-W09", "payments", "checkout"): (1, 1),
        ("2026-W09", "payments", "ledger"): (2, 0),  # a page-tier alarm with its actions off notifies nobody
        ("2026-W09", "search", "index"): (2, 2),
        ("2026-W10", "payments", "checkout"): (6, 4),
        ("2026-W11", "payments", "checkout"): (1, 1),
        ("2026-W11", "search", "index"): (1, 1),
    }


def test_rates_are_over_the_alerts_with_an_outcome_and_the_median_is_a_true_median(frozen, history):
    s = report().summary
    assert (s["notifications"], s["page"], s["other"], s["labelled"]) == (34, 29, 5, 32)
    assert s["actionable_rate"] == 0.125  # 3 actioned + 1 customer impact of 32
    assert s["customer_impact_rate"] == pytest.approx(1 / 32, abs=1e-4)
    assert s["transient_rate"] == 0.75  # 24 of 32
    # Responses of 1, 2, 3, 4, 6 and 10 minutes: the median is 3.5 minutes (the mean would be 4.33).
    assert s["median_first_response_seconds"] == 210.0
    teams = by(report().tables["teams"], "team")
    assert teams["payments"]["median_first_response_seconds"] == 300.0  # 2, 4, 6, 10 minutes
    assert teams["search"]["median_first_response_seconds"] == 120.0  # 1, 3 minutes
    assert (teams["payments"]["notifications"], teams["payments"]["page"]) == (30, 26)
    assert teams["payments"]["actionable_rate"] == pytest.approx(3 / 28, abs=1e-4)
    assert teams[""]["team_name"] == "No owner team" and teams[""]["notifications"] == 1
    services = by(report().tables["services"], "service")
    assert services["index"]["median_first_response_seconds"] == 120.0
    assert services["ledger"]["transient_rate"] == 1.0 and services["ledger"]["page"] == 0


def test_median_of_an_odd_count_is_the_middle_value(frozen, history):
    scope = ReportScope(since=SINCE, until=NOW, tz=UTC, team_id=history["search"].pk)
    Alert.objects.filter(alarm__name="index-latency", outcome="transient").update(
        first_response_at=week(2, 14) + 20 * MIN
    )
    # 1, 3 and 20 minutes.
    assert median_first_response(scope)[None] == pytest.approx(180.0, abs=0.01)
    assert median_first_response(scope, by="service")[history["index"].pk] == pytest.approx(180.0, abs=0.01)


def test_time_in_alarm_per_alarm_and_team_clips_to_the_window_and_to_now(frozen, history):
    r = report()
    alarms = {row["alarm_name"]: row["alarm_seconds"] for row in r.tables["alarm-time"]}
    window = (NOW - SINCE).total_seconds()
    assert alarms == {
        "stuck-disk": window,  # open since before the window
        "api-5xx": 20 * 120 + 1200 + 1200 + 3600 + 120 + 7200,  # the open one counts its two hours until now
        "slow-queue": 7200.0,  # its two hours inside the window
        "index-latency": 300 + 120 + 1800,
        "lambda-errors": 1200,
        "checkout-latency": 900,
        "stray": 600,
        "ledger-lag": 360,
    }
    assert list(alarms)[:3] == ["stuck-disk", "api-5xx", "slow-queue"]  # the longest first
    teams = by(r.tables["teams"], "team")
    assert teams["payments"]["alarm_seconds"] == 15720 + 1200 + 900 + 360
    assert teams["search"]["alarm_seconds"] == window + 7200 + 2220


def test_the_ten_most_firing_alarms(frozen, history):
    top = report().tables["top-alarms"]
    assert [(row["alarm_name"], row["notifications"]) for row in top] == [
        ("api-5xx", 25),
        ("index-latency", 3),
        ("lambda-errors", 2),
        ("ledger-lag", 2),
        ("checkout-latency", 1),
        ("stray", 1),
    ]
    assert top[0]["share"] == pytest.approx(25 / 34, abs=1e-4) and top[0]["tier"] == "page"
    assert top[0]["actionable_rate"] == pytest.approx(3 / 24, abs=1e-4)


def test_over_budget_weeks_are_flagged_and_traced_to_their_alarms(frozen, history):
    r = report()
    budget = {(row["team"], row["week"]): row for row in r.tables["budget"]}
    assert len(budget) == 24  # two teams, twelve weeks
    over = [(team, w) for (team, w), row in budget.items() if row["over_budget"]]
    assert over == [("payments", "2026-W06"), ("payments", "2026-W10")]
    w10 = budget[("payments", "2026-W10")]
    assert (w10["page"], w10["budget"]) == (4, 3)
    assert [(a["alarm_name"], a["page"]) for a in w10["alarms"]] == [("api-5xx", 3), ("checkout-latency", 1)]
    assert [(a["alarm_name"], a["page"]) for a in budget[("payments", "2026-W06")]["alarms"]] == [("api-5xx", 20)]
    assert budget[("search", "2026-W09")]["budget"] == 15 and budget[("search", "2026-W09")]["alarms"] == []
    teams = by(r.tables["teams"], "team")
    assert (teams["payments"]["over_budget_weeks"], teams["search"]["over_budget_weeks"]) == (2, 0)
    assert (r.summary["over_budget_weeks"], r.summary["teams_over_budget"]) == (2, 1)
    assert r.budget_total == 18


def test_change_since_the_first_review(frozen, history):
    (row,) = report().tables["since-first-review"]  # search has had no review
    # Before 2026-W09: W05 to W08 held twenty alerts (all pages); recently (W10, the one whole week since): six,
    # four of them pages.
    assert row["team"] == "payments" and row["first_review_week"] == "2026-W09"
    assert (row["before_weeks"], row["before_per_week"], row["before_page_per_week"]) == (4, 5.0, 5.0)
    assert (row["recent_weeks"], row["recent_per_week"], row["recent_page_per_week"]) == (1, 6.0, 4.0)
    assert (row["change"], row["page_change"]) == (0.2, -0.2)


def test_filters_narrow_every_figure(frozen, history):
    r = report(team="search")
    assert r.summary["notifications"] == 3 and [row["team"] for row in r.tables["teams"]] == ["search"]
    assert {row["team"] for row in r.tables["budget"]} == {"search"}
    assert r.tables["since-first-review"] == []
    r = report(service="ledger")
    assert (r.summary["notifications"], r.summary["page"], r.summary["transient_rate"]) == (2, 0, 1.0)
    assert report(weeks="2").since == THIS_WEEK - timedelta(weeks=1)


def test_weeks_start_on_monday_in_the_report_time_zone(catalog):
    paris = ZoneInfo("Europe/Paris")
    api = alarm(catalog["account"], "api-5xx", team=catalog["team"], service=catalog["service"])
    # Sunday 23:30 UTC is Monday 00:30 in Paris (UTC+1): the next week there.
    alerts(
        api, (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), MIN, ""), (datetime(2026, 3, 8, 22, 30, tzinfo=UTC), MIN, "")
    )
    utc = weekly_counts(ReportScope(since=SINCE, until=NOW, tz=UTC))
    local = weekly_counts(ReportScope(since=SINCE, until=NOW, tz=paris))
    assert [(row["week"], row["alerts"]) for row in utc] == [(datetime(2026, 3, 2, tzinfo=UTC), 2)]
    assert [(row["week"].date().isoformat(), row["alerts"]) for row in local] == [("2026-03-02", 1), ("2026-03-09", 1)]


def test_an_empty_history_reports_zeros_and_no_rates(frozen, catalog):
    r = report()
    assert r.empty and r.summary["notifications"] == 0 and r.summary["actionable_rate"] is None
    assert r.summary["median_first_response_seconds"] is None


# --- the page, the CSV files, the API --------------------------------------------------------------------


def test_the_page_shows_the_figures_chart_and_links(client, viewer, frozen, history):
    client.force_login(viewer)  # any signed-in user: the report is an overview
    response = client.get(reverse("report"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="report-chart"' in html and "<title>2026-W10: 4 page, 2 other</title>" in html
    assert 'class="budget"' in html  # the budget line: 3 + 15 for the two teams
    assert "page budget of the teams shown (18 a week)" in html
    assert "12%" in html and "75%" in html and "3 min 30 s" in html  # actionable, transient, median response
    over = html[html.index('id="over-budget"') :]
    assert "api-5xx \u00d73" in over and "checkout-latency \u00d71" in over
    assert reverse("report-csv", args=["teams"]) + "?" in html
    assert "\u221220%" in html and "+20%" in html  # page change and change since the first review
    assert 'href="/reports/"' in html and ">Reports</a>" in html  # the navigation


def test_the_page_escapes_names_from_aws(client, viewer, frozen, history):
    Alarm.objects.filter(name="api-5xx").update(name="<script>alert(1)</script>")
    client.force_login(viewer)
    html = client.get(reverse("report")).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_of_an_empty_history_says_so(client, viewer, frozen, catalog):
    client.force_login(viewer)
    html = client.get(reverse("report")).content.decode()
    assert 'id="report-empty"' in html and "No alarm fired in these weeks." in html


def test_invalid_filters_are_a_400_with_the_reason(client, viewer, frozen, history):
    client.force_login(viewer)
    response = client.get(reverse("report"), {"team": "nobody", "weeks": "99"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.get(reverse("report-csv", args=["teams"]), {"weeks": "0"})
    assert response.status_code == 400 and "weeks" in response.content.decode()
    assert client.get(reverse("report-csv", args=["nothing"])).status_code == 404
    api = client.get("/api/v1/reports/", {"team": "nobody"})
    assert api.status_code == 400 and api.json()["errors"]["team"]


def test_every_table_exports_as_csv(client, viewer, frozen, history):
    client.force_login(viewer)
    response = client.get(reverse("report-csv", args=["budget"]), {"team": "payments"})
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 12
    w10 = next(row for row in rows if row["week"] == "2026-W10")
    assert (w10["page"], w10["budget"], w10["over_budget"]) == ("4", "3", "yes")
    assert w10["alarms"] == "api-5xx (3); checkout-latency (1)"
    for table in TABLES:
        text = client.get(reverse("report-csv", args=[table])).content.decode()
        assert len(text.splitlines()) > 1, table
    teams = list(csv.DictReader(io.StringIO(client.get(reverse("report-csv", args=["teams"])).content.decode())))
    payments = next(row for row in teams if row["team"] == "payments")
    assert (payments["notifications"], payments["median_first_response_seconds"]) == ("30", "300.0")


def test_a_csv_cell_never_reads_as_a_formula(client, viewer, frozen, history):
    Alarm.objects.filter(name="api-5xx").update(name="=HYPERLINK(1)")
    client.force_login(viewer)
    text = client.get(reverse("report-csv", args=["top-alarms"])).content.decode()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_the_api_gives_the_same_figures_as_json_and_csv(client, viewer, frozen, history):
    client.force_login(viewer)
    body = client.get("/api/v1/reports/", {"team": "payments"}).json()
    assert set(body) == {"since", "until", "time_zone", "team", "service", "weeks", "summary", "tables"}
    assert body["team"] == "payments" and body["weeks"][0] == "2025-W52" and body["weeks"][-1] == "2026-W11"
    assert set(body["tables"]) == set(TABLES)
    assert list(TABLES) == [
        "weeks",
        "weekly",
        "teams",
        "services",
        "top-alarms",
        "alarm-time",
        "budget",
        "since-first-review",
    ]
    assert [w["notifications"] for w in body["tables"]["weeks"]][-6:] == [20, 0, 0, 3, 6, 1]
    assert body["summary"]["notifications"] == 30 and body["summary"]["median_first_response_seconds"] == 300.0
    response = client.get("/api/v1/reports/top-alarms.csv", {"team": "payments"})
    assert response.status_code == 200 and response.content.decode().splitlines()[1].startswith("1,api-5xx,")
    assert client.get("/api/v1/reports/nothing.csv").json()["detail"].startswith("No such table")


def test_login_is_required(client, history):
    response = client.get(reverse("report"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("report-csv", args=["teams"])).status_code == 302
    assert client.get("/api/v1/reports/").status_code in (401, 403)
    assert client.get("/api/v1/reports/teams.csv").status_code in (401, 403)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_and_api_run_a_constant_number_of_queries(
    client, viewer, frozen, history, django_assert_max_num_queries
):
    client.force_login(viewer)
    with django_assert_max_num_queries(15):
        client.get(reverse("report"))
    before = {url: _queries(client, url) for url in ("/reports/", "/api/v1/reports/", "/reports/teams.csv")}
    # Ten times the teams, services, alarms and alerts, more reviews and over-budget weeks.
    account = history["payments"].alarms.first().account
    for i in range(10):
        team = Team.objects.create(slug=f"team-{i}", name=f"Team {i}")
        service = Service.objects.create(slug=f"svc-{i}", name=f"Service {i}", team=team)
        Review.objects.create(team=team, week="2026-W05", opened_at=week(6), lookback_days=90)
        for j in range(3):
            a = alarm(account, f"more-{i}-{j}", team=team, service=service)
            alerts(a, *[(week(k % 11, 1 + k), 5 * MIN, "transient", MIN * k) for k in range(20)])
    after = {url: _queries(client, url) for url in before}
    assert after == before
    assert before["/reports/"] <= 15
    with CaptureQueriesContext(connection) as captured:
        report()
    assert len(captured) == REPORT_QUERIES
