"""The review pages and API over HTTP: what they show, a constant number of queries however many items, a
decision and a sign-off posted from the page, the API's contract names and its refusals in the one error shape."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alarms.models import Team
from alarms.review.models import Review, ReviewItem
from alarms.review.tests.review_rows import make_review

pytestmark = pytest.mark.django_db

ITEM_FIELDS = {"id", "alarm_arn", "rule", "evidence", "suggestion", "decision", "apply_status", "apply_error"}
DEFINITION = {"statistic": "Sum", "period": 60, "evaluation_periods": 1, "datapoints_to_alarm": 1, "threshold": 1.0,
              "comparison_operator": "GreaterThanThreshold", "treat_missing_data": "missing"}  # fmt: skip


@pytest.fixture
def review(catalog, make_alarms):
    alarms = make_alarms(catalog["account"], 5, prefix="checkout", owner_team=catalog["team"],
                         service=catalog["service"], **DEFINITION)  # fmt: skip
    (partner,) = make_alarms(catalog["account"], 1, prefix="checkout-api", owner_team=catalog["team"])
    review, items = make_review(catalog["team"], alarms, partner=partner)
    return {"review": review, "items": items, "partner": partner}


def later(days: int = 60) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- pages ----------------------------------------------------------------------------------------


def test_review_page_groups_items_by_rule_with_evidence_suggestion_and_forms(client, member, review):
    client.force_login(member)
    html = client.get(reverse("review-detail", args=[review["review"].pk])).content.decode()
    assert html.index('id="rule-never_acted_on"') < html.index('id="rule-transient"') < html.index('id="rule-stuck"')
    assert html.count('class="review-timeline"') == 5 and html.count('class="review-outcomes"') == 5
    assert "<title>2026-W10: 3</title>" in html  # a week's alerts in its bar's tooltip
    assert "Alarm on 3 of 5 periods." in html  # the suggestion
    assert html.count('class="filters inline decision-form"') == 5
    # The transient item's tune fields come prefilled from its suggestion (3 of 5), the rest from the alarm.
    transient = html[html.index('id="rule-transient"') :]
    assert 'name="setting_datapoints_to_alarm" value="3"' in transient
    assert 'name="setting_evaluation_periods" value="5"' in transient
    assert 'name="setting_period" value="60"' in transient
    # The duplicate's partner is offered and prefilled.
    assert f'<option value="{review["partner"].pk}">checkout-api-0-Errors</option>' in html
    assert f'name="merge_with" list="review-alarms" inputmode="numeric" value="{review["partner"].pk}"' in html
    assert "undecided" in html and 'id="sign-off-waiting"' in html


def test_a_transient_item_shows_why_its_metric_gave_no_replayed_suggestion(client, member, review):
    item = ReviewItem.objects.get(review=review["review"], rule="transient")
    reason = "The metric has no datapoints in this period, so there is nothing to replay."
    item.suggestion = {**item.suggestion, "replay": {"days": 15, "setting": None, "reason": reason}}
    item.save(update_fields=["suggestion"])
    client.force_login(member)

    html = client.get(reverse("review-detail", args=[review["review"].pk])).content.decode()

    transient = html[html.index('id="rule-transient"') :]
    assert f"Replay of its metric (15 days): {reason}" in transient
    assert reverse("alarm-tuning-page", args=[item.alarm_id]) in transient


def test_a_reader_outside_the_team_sees_the_review_without_forms(client, outsider, review):
    client.force_login(outsider)
    html = client.get(reverse("review-detail", args=[review["review"].pk])).content.decode()
    assert 'class="filters inline decision-form"' not in html and 'id="sign-off' not in html
    assert html.count('class="review-timeline"') == 5


def test_review_list_is_each_teams_history(client, member, review, catalog):
    other = Team.objects.create(slug="search", name="Search")
    Review.objects.create(team=other, week="2026-W11", opened_at=timezone.now(), lookback_days=90)
    Review.objects.create(team=catalog["team"], week="2026-W10", opened_at=timezone.now(), lookback_days=90)
    client.force_login(member)
    html = client.get(reverse("review-list"), {"team": "payments"}).content.decode()
    assert html.count("data-review=") == 2 and ">Search</a>" not in html
    assert html.index("2026-W11") < html.index("2026-W10")
    assert "0 of 5" in html
    assert client.get(reverse("review-list")).content.decode().count("data-review=") == 3


def page_queries(client, review_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("review-detail", args=[review_id]))
    assert response.status_code == 200
    return len(captured)


def test_review_page_runs_a_constant_number_of_queries(client, member, catalog, make_alarms):
    small, _ = make_review(catalog["team"], make_alarms(catalog["account"], 5, prefix="a"), week="2026-W10")
    big, items = make_review(catalog["team"], make_alarms(catalog["account"], 50, prefix="b"), week="2026-W11")
    ReviewItem.objects.filter(pk__in=[i.pk for i in items[:20]]).update(
        decision="merge", reason="r", merge_with=items[-1].alarm, decided_by=member, decided_at=timezone.now()
    )
    client.force_login(member)
    assert page_queries(client, small.pk) == page_queries(client, big.pk) <= 15


def test_post_a_decision_from_the_page(client, member, review):
    client.force_login(member)
    item = review["items"][1]  # transient
    url = reverse("review-item-decide", args=[review["review"].pk, item.pk])
    form = {"decision": "tune", "reason": "Flaps at night.", "setting_threshold": "1", "setting_period": "60",
            "setting_evaluation_periods": "5", "setting_datapoints_to_alarm": "3", "setting_statistic": "Sum",
            "setting_comparison_operator": "GreaterThanThreshold", "setting_treat_missing_data": "missing",
            "rereview_on": "", "demote_to": "ticket", "merge_with": ""}  # fmt: skip
    response = client.post(url, form, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/reviews/{review['review'].pk}/#item-{item.pk}")
    item.refresh_from_db()
    assert (item.decision, item.setting["datapoints_to_alarm"], item.setting["evaluation_periods"]) == ("tune", 3, 5)
    assert item.demote_to == ""  # the other decisions' fields are not taken
    html = response.content.decode()
    assert "tune, recorded" in html and "decided, not applied" in html


def test_a_decision_missing_its_field_is_refused_on_the_page_naming_it(client, member, review):
    client.force_login(member)
    item = review["items"][0]
    url = reverse("review-item-decide", args=[review["review"].pk, item.pk])
    html = client.post(url, {"decision": "keep", "reason": "Real.", "rereview_on": ""}, follow=True).content.decode()
    assert "rereview on: A kept alarm needs a re-review date." in html and "Nothing was changed." in html
    item.refresh_from_db()
    assert item.decision == ""


def test_outsiders_cannot_post_decisions_or_sign_off_from_the_page(client, outsider, review):
    client.force_login(outsider)
    item = review["items"][0]
    decide = reverse("review-item-decide", args=[review["review"].pk, item.pk])
    assert client.post(decide, {"decision": "delete", "reason": "x"}).status_code == 403
    assert client.post(reverse("review-sign-off", args=[review["review"].pk])).status_code == 403
    assert not ReviewItem.objects.exclude(decision="").exists()


def test_sign_off_from_the_page_shows_the_summary(client, member, review):
    client.force_login(member)
    ReviewItem.objects.update(decision="delete", reason="Unused.", decided_by=member, decided_at=timezone.now())
    html = client.post(reverse("review-sign-off", args=[review["review"].pk]), follow=True).content.decode()
    assert "Signed off" in html and 'id="review-summary"' in html
    assert "5 items (delete 5)" in html
    assert '<strong id="notifications-removed">60</strong>' in html  # 10 + 11 + 12 + 13 + 14
    assert 'class="filters inline decision-form"' not in html


# --- API ------------------------------------------------------------------------------------------


def test_api_lists_a_teams_reviews_with_progress(client, member, review):
    client.force_login(member)
    Review.objects.create(team=Team.objects.create(slug="search", name="Search"), week="2026-W11",
                          opened_at=timezone.now(), lookback_days=90)  # fmt: skip
    body = client.get("/api/v1/reviews/", {"team": "payments"}).json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert (row["id"], row["team"], row["week"], row["item_count"], row["decided_count"], row["complete"]) == (
        review["review"].pk,
        "payments",
        "2026-W11",
        5,
        0,
        False,
    )
    assert client.get("/api/v1/reviews/").json()["count"] == 2
    assert client.get(f"/api/v1/reviews/{review['review'].pk}/").json()["team_name"] == "Payments"


def test_api_items_carry_the_contract_fields(client, member, review):
    client.force_login(member)
    body = client.get(f"/api/v1/reviews/{review['review'].pk}/items/").json()
    assert body["count"] == 5
    first = body["results"][0]
    assert set(first) >= ITEM_FIELDS
    assert first["alarm_arn"].endswith(":alarm:checkout-0-Errors")
    assert (first["rule"], first["decision"], first["apply_status"], first["status"]) == (
        "never_acted_on",
        None,
        None,
        "undecided",
    )
    assert first["evidence"]["alerts"] == 10 and "text" in first["suggestion"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"decision": "keep", "reason": "r"}, "rereview_on"),
        ({"decision": "keep", "rereview_on": "2099-01-01"}, "reason"),
        ({"decision": "tune", "reason": "r"}, "setting"),
        ({"decision": "demote", "reason": "r"}, "demote_to"),
        ({"decision": "merge", "reason": "r"}, "merge_with"),
        ({"decision": "shrug", "reason": "r"}, "decision"),
    ],
)
def test_api_refuses_a_decision_without_its_field_naming_it(client, member, review, payload, field):
    client.force_login(member)
    item = review["items"][0]
    response = client.post(f"/api/v1/reviews/{review['review'].pk}/items/{item.pk}/decision/", payload,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input." and field in body["errors"]


def test_api_decides_each_kind_and_signs_off(client, member, review, settings, django_capture_on_commit_callbacks):
    settings.SLACK_BOT_TOKEN = ""
    client.force_login(member)
    items, base = review["items"], f"/api/v1/reviews/{review['review'].pk}"
    payloads = [
        {"decision": "keep", "reason": "Real outages.", "rereview_on": later()},
        {"decision": "tune", "reason": "Flaps.", "setting": {"datapoints_to_alarm": 3, "evaluation_periods": 5}},
        {"decision": "merge", "reason": "Same outage.", "merge_with": review["partner"].pk},
        {"decision": "demote", "reason": "Nobody acts.", "demote_to": "disable_actions"},
        {"decision": "delete", "reason": "Gone."},
    ]
    for item, payload in zip(items, payloads, strict=True):
        response = client.post(f"{base}/items/{item.pk}/decision/", payload, content_type="application/json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["id"], body["decision"], body["status"], body["decided_by"]) == (
            item.pk,
            payload["decision"],
            "decided, not applied",
            "mia",
        )
    merged = {row["id"]: row for row in client.get(f"{base}/items/").json()["results"]}[items[2].pk]
    assert (merged["merge_with"], merged["merge_with_arn"]) == (review["partner"].pk, review["partner"].arn)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base}/sign-off/")
    assert response.status_code == 200
    body = response.json()
    assert body["signed_off_by"] == "mia" and body["complete"] is True
    assert body["summary"]["decisions"] == {"keep": 1, "tune": 1, "demote": 1, "delete": 1, "merge": 1}
    again = client.post(f"{base}/items/{items[0].pk}/decision/", payloads[4], content_type="application/json")
    assert again.status_code == 400 and "review" in again.json()["errors"]


def test_api_sign_off_refuses_while_items_are_undecided(client, member, review):
    client.force_login(member)
    response = client.post(f"/api/v1/reviews/{review['review'].pk}/sign-off/")
    assert response.status_code == 400
    assert response.json()["errors"] == {"items": ["5 items have no decision yet: decide every item first."]}


def test_api_refuses_outsiders_in_the_one_error_shape(client, outsider, review):
    client.force_login(outsider)
    item = review["items"][0]
    response = client.post(f"/api/v1/reviews/{review['review'].pk}/items/{item.pk}/decision/",
                            {"decision": "delete", "reason": "x"}, content_type="application/json")  # fmt: skip
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only administrators and the members of the review's team decide its items and sign it off.",
        "errors": {},
    }
    assert client.post(f"/api/v1/reviews/{review['review'].pk}/sign-off/").status_code == 403
    assert client.get(f"/api/v1/reviews/{review['review'].pk}/items/").status_code == 200


def test_api_item_of_another_review_is_not_found(client, member, review, catalog, make_alarms):
    _other, items = make_review(catalog["team"], make_alarms(catalog["account"], 1, prefix="z"), week="2026-W12")
    client.force_login(member)
    response = client.post(f"/api/v1/reviews/{review['review'].pk}/items/{items[0].pk}/decision/",
                           {"decision": "delete", "reason": "x"}, content_type="application/json")  # fmt: skip
    assert response.status_code == 404


def test_api_review_list_runs_a_constant_number_of_queries(client, member, catalog, make_alarms):
    client.force_login(member)
    make_review(catalog["team"], make_alarms(catalog["account"], 3, prefix="a"), week="2026-W10")
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/reviews/")
    for week in ("2026-W11", "2026-W12", "2026-W13"):
        make_review(catalog["team"], make_alarms(catalog["account"], 3, prefix=f"x{week}"), week=week)
    with CaptureQueriesContext(connection) as four:
        items = client.get("/api/v1/reviews/")
    assert items.json()["count"] == 4 and len(one) == len(four)


def test_evidence_is_drawn_whatever_keys_it_has(client, member, review):
    items = review["items"]
    ReviewItem.objects.filter(pk=items[0].pk).update(evidence={}, suggestion={})
    ReviewItem.objects.filter(pk=items[1].pk).update(
        evidence={"weekly": [1, 0, "x", 4], "outcomes": {"actioned": 2, "mystery": 1}}, suggestion={"text": "<b>"}
    )
    client.force_login(member)
    html = client.get(reverse("review-detail", args=[review["review"].pk])).content.decode()
    assert "no firing timeline" in html and "no outcomes recorded" in html
    assert "<title>week 4 of 4: 4</title>" in html
    assert "<title>Actioned: 2</title>" in html and "<title>Not labelled: 1</title>" in html
    assert "Suggestion: &lt;b&gt;" in html
