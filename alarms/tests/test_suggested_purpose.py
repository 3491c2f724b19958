"""Suggested purpose end to end: written by the sync from what the alarm measures, shown beside the empty
fields, accepted one at a time or in bulk (filling only what is empty, audited), counted apart in coverage."""

import pytest
from django.db import connection
from django.urls import reverse

from alarms.models import Alarm, AuditEntry, AwsAccount
from alarms.selectors.coverage import coverage_estate
from alarms.services import suggestions
from alarms.services.refresh import catalog_refresh
from alarms.services.suggested_purpose import alarms_accept_suggestions, suggestion_columns
from alarms.tests.local_estate import ACCOUNTS, REGIONS, client_for, put_alarm, register_accounts

pytestmark = pytest.mark.django_db


def suggested(alarm: Alarm, **definition) -> Alarm:
    """An alarm as the sync writes it: the definition and the suggestion it gives."""
    for name, value in definition.items():
        setattr(alarm, name, value)
    for name, value in suggestion_columns(alarm).items():
        setattr(alarm, name, value)
    alarm.save()
    return alarm


@pytest.fixture
def lambda_alarms(catalog, make_alarms):
    alarms = make_alarms(catalog["account"], 6, namespace="AWS/Lambda", metric_name="Errors", statistic="Sum",
                         period=60, evaluation_periods=3, datapoints_to_alarm=2, threshold=1.0,
                         comparison_operator="GreaterThanThreshold")  # fmt: skip
    return [suggested(a, dimensions={"FunctionName": a.name.removesuffix("-Errors")}) for a in alarms]


def test_the_sync_suggests_a_purpose_from_the_metric(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-fn-03-Errors", threshold=1)
    register_accounts()

    catalog_refresh(account=AwsAccount.objects.get(account_id=ACCOUNTS[0]), region=REGIONS[0])

    alarm = Alarm.objects.get(name="checkout-fn-03-Errors")
    assert alarm.suggested_by == "lambda-errors"
    assert alarm.suggested_detects == "At least 1 error a minute in `checkout-fn-03`."
    assert (alarm.suggested_signal_kind, alarm.suggested_tier) == ("cause", "ticket")
    assert alarm.suggestion_version == suggestions.LIBRARY_VERSION
    assert not alarm.has_purpose  # a suggestion is not a decision


def test_a_new_library_is_applied_by_the_next_refresh(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-fn-03-Errors")
    register_accounts()
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    catalog_refresh(account=account, region=REGIONS[0])
    Alarm.objects.update(suggestion_version="old", suggested_detects="stale text")

    catalog_refresh(account=account, region=REGIONS[0])  # nothing changed in AWS

    alarm = Alarm.objects.get()
    assert (alarm.suggestion_version, alarm.suggested_detects.startswith("At least 1 error")) == (
        suggestions.LIBRARY_VERSION,
        True,
    )


def test_accepting_fills_only_the_empty_fields_and_is_audited(lambda_alarms, editor):
    mine = lambda_alarms[0]
    mine.purpose_action = "Page Ana, she owns the retry logic."
    mine.tier = "page"
    mine.save()

    accepted = alarms_accept_suggestions(alarm_ids=[a.pk for a in lambda_alarms], actor=editor)

    assert accepted == 6
    mine.refresh_from_db()
    assert mine.purpose_action == "Page Ana, she owns the retry logic."  # a person's words stay
    assert mine.tier == "page"
    assert mine.purpose_detects == mine.suggested_detects and mine.signal_kind == "cause"
    assert mine.has_purpose
    entry = AuditEntry.objects.get(alarm=mine, action="alarm.suggestion_accepted")
    assert entry.actor == editor
    assert set(entry.before) == {"purpose_detects", "purpose_customer_impact", "signal_kind"}
    assert entry.after["purpose_detects"] == mine.suggested_detects
    assert alarms_accept_suggestions(alarm_ids=[mine.pk], actor=editor) == 0  # nothing left to fill


def test_bulk_accept_runs_the_same_queries_for_a_hundred_alarms_as_for_one(
    catalog, make_alarms, editor, django_assert_num_queries
):
    """The locking read, one UPDATE and the audit rows, inside a savepoint (SQLite counts one more)."""

    def accept(count: int, prefix: str) -> None:
        alarms = make_alarms(catalog["account"], count, prefix=prefix, namespace="AWS/Lambda", metric_name="Errors")
        ids = [suggested(a, dimensions={"FunctionName": a.name}).pk for a in alarms]
        with django_assert_num_queries(4 if connection.vendor == "postgresql" else 5):
            assert alarms_accept_suggestions(alarm_ids=ids, actor=editor) == count

    accept(1, "one")
    accept(100, "hundred")


def test_coverage_counts_accepted_purposes_only_and_suggestions_apart(lambda_alarms, editor):
    alarms_accept_suggestions(alarm_ids=[lambda_alarms[0].pk], actor=editor)

    coverage = coverage_estate()

    assert (coverage.alarms, coverage.with_purpose, coverage.suggested) == (6, 1, 5)


def test_the_api_item_carries_the_suggestion(lambda_alarms, viewer):
    item = client_for(viewer).get(f"/api/v1/alarms/{lambda_alarms[1].pk}/").json()

    assert item["suggested_purpose"] == {
        "detects": "More than 1 error a minute in `fn-1`.",
        "customer_impact": lambda_alarms[1].suggested_customer_impact,
        "action": lambda_alarms[1].suggested_action,
    }
    assert (item["suggested_signal_kind"], item["suggested_tier"]) == ("cause", "ticket")
    listed = client_for(viewer).get("/api/v1/alarms/", {"suggested": "true"}).json()
    assert listed["count"] == 6


def test_api_bulk_accept_by_filters_refuses_a_stale_count_and_bad_filters(lambda_alarms, editor):
    api = client_for(editor)
    url = "/api/v1/alarms/accept-suggestions/"

    stale = api.post(url, {"filters": {"suggested": "true"}, "confirmed_count": 5}, format="json")
    bad = api.post(url, {"filters": {"suggested": "maybe"}, "confirmed_count": 6}, format="json")
    unknown = api.post(url, {"filters": {"sevice": "checkout"}, "confirmed_count": 6}, format="json")

    assert (stale.status_code, bad.status_code, unknown.status_code) == (409, 400, 400)
    assert not AuditEntry.objects.filter(action="alarm.suggestion_accepted").exists()
    done = api.post(url, {"filters": {"suggested": "true"}, "confirmed_count": 6}, format="json")
    assert done.json() == {"accepted": 6}
    assert Alarm.objects.filter(purpose_detects="").count() == 0


def test_viewers_cannot_accept(lambda_alarms, viewer):
    response = client_for(viewer).post(
        "/api/v1/alarms/accept-suggestions/", {"alarms": [lambda_alarms[0].pk]}, format="json"
    )

    assert response.status_code == 403
    assert not Alarm.objects.get(pk=lambda_alarms[0].pk).purpose_detects


def test_the_alarm_page_shows_the_suggestion_and_accepts_it(lambda_alarms, client, editor):
    client.force_login(editor)
    alarm = lambda_alarms[2]

    page = client.get(reverse("alarm-detail", args=[alarm.pk])).content.decode()
    assert "More than 1 error a minute in `fn-2`." in page and "suggested" in page
    client.post(reverse("alarm-accept-suggestion", args=[alarm.pk]))

    alarm.refresh_from_db()
    assert alarm.purpose_detects == "More than 1 error a minute in `fn-2`."


def test_the_list_accepts_suggestions_for_every_alarm_matching_the_filters_after_confirming(
    lambda_alarms, client, editor
):
    client.force_login(editor)
    form = {"scope": "filtered", "query": "suggested=true", "accept_suggestions": "on"}

    confirm = client.post(reverse("alarm-bulk-assign"), form)
    assert "Their suggested purpose" in confirm.content.decode()
    assert not Alarm.objects.exclude(purpose_detects="").exists()

    client.post(reverse("alarm-bulk-assign"), {**form, "confirmed_count": 6})
    assert Alarm.objects.filter(purpose_detects="").count() == 0
    listed = client.get(reverse("alarm-list")).content.decode()
    assert "badge-purple" not in listed
