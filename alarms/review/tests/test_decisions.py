"""Deciding review items and signing a review off, through the services: each decision with what it needs,
each missing field refused by name, the audit trail, and the summary that goes to the team's channel."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alarms.models import AuditEntry
from alarms.review.models import Review, ReviewItem
from alarms.review.permissions import can_review
from alarms.review.services import decisions
from alarms.review.services.decisions import evidence_alert_count, item_decide, review_sign_off
from alarms.review.tests.review_rows import make_review

pytestmark = pytest.mark.django_db

DEFINITION = {
    "namespace": "AWS/Lambda",
    "metric_name": "Errors",
    "statistic": "Sum",
    "period": 60,
    "evaluation_periods": 1,
    "datapoints_to_alarm": 1,
    "threshold": 1.0,
    "comparison_operator": "GreaterThanOrEqualToThreshold",
    "treat_missing_data": "notBreaching",
}


@pytest.fixture
def review(catalog, make_alarms):
    alarms = make_alarms(catalog["account"], 5, prefix="checkout", owner_team=catalog["team"], tier="page",
                         service=catalog["service"], **DEFINITION)  # fmt: skip
    (partner,) = make_alarms(catalog["account"], 1, prefix="checkout-api", owner_team=catalog["team"], **DEFINITION)
    review, items = make_review(catalog["team"], alarms, partner=partner)
    return {"review": review, "items": items, "alarms": alarms, "partner": partner}


def later(days: int = 90):
    return timezone.localdate() + timedelta(days=days)


def field_errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_keep_records_reason_date_who_and_when_and_is_audited(review, member):
    item = review["items"][0]
    decided = item_decide(item=item, actor=member, decision="keep", reason="Pages for a real outage.",
                          rereview_on=later())  # fmt: skip
    item.refresh_from_db()
    assert (item.decision, item.reason, item.rereview_on, item.decided_by) == (
        "keep",
        "Pages for a real outage.",
        later(),
        member,
    )
    assert item.decided_at is not None and item.apply_status == ""
    assert decided.pk == item.pk
    entry = AuditEntry.objects.get(action="review.decision")
    assert (entry.alarm_id, entry.actor, entry.target) == (item.alarm_id, member, item.alarm.arn)
    assert entry.before["decision"] == "" and entry.after["decision"] == "keep"
    assert entry.after["rereview_on"] == later().isoformat()


def test_keep_without_reason_or_date_is_refused_naming_both(review, member):
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=review["items"][0], actor=member, decision="keep", reason="  ")
    assert set(field_errors(excinfo)) == {"reason", "rereview_on"}
    assert not ReviewItem.objects.exclude(decision="").exists()
    assert not AuditEntry.objects.exists()


def test_keep_with_a_past_rereview_date_is_refused(review, member):
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=review["items"][0], actor=member, decision="keep", reason="r", rereview_on=later(-1))
    assert "future" in field_errors(excinfo)["rereview_on"][0]


def test_tune_takes_the_new_setting_over_the_current_one(review, member):
    item = review["items"][1]
    item_decide(item=item, actor=member, decision="tune", reason="Flaps.",
                setting={"datapoints_to_alarm": 3, "evaluation_periods": "5"})  # fmt: skip
    item.refresh_from_db()
    assert item.setting == {
        "threshold": 1.0,
        "period": 60,
        "evaluation_periods": 5,
        "datapoints_to_alarm": 3,
        "statistic": "Sum",
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
    }


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        (None, "Give the new setting"),
        ({}, "Give the new setting"),
        ({"datapoints_to_alarm": 4, "evaluation_periods": 3}, "datapoints_to_alarm"),
        ({"period": 0}, "period"),
        ({"period": 45}, "multiple of 60"),
        ({"threshold": "lots"}, "threshold"),
        ({"evaluation_periods": 1441}, "at most a day"),
        ({"comparison_operator": "Bigger"}, "comparison_operator"),
        ({"colour": "red"}, "Unknown fields: colour"),
        ({"threshold": 1}, "current setting"),
    ],
)
def test_tune_without_a_valid_new_setting_is_refused_on_setting(review, member, setting, says):
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=review["items"][1], actor=member, decision="tune", reason="r", setting=setting)
    assert list(field_errors(excinfo)) == ["setting"]
    assert says in field_errors(excinfo)["setting"][0]


def test_demote_records_what_to_and_needs_it(review, member):
    item = review["items"][0]
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=item, actor=member, decision="demote", reason="Nobody acts on it.")
    assert list(field_errors(excinfo)) == ["demote_to"]
    item_decide(item=item, actor=member, decision="demote", reason="Nobody acts on it.", demote_to="ticket")
    item.refresh_from_db()
    assert (item.decision, item.demote_to) == ("demote", "ticket")


def test_demote_to_what_it_is_already_is_refused(review, member):
    item = review["items"][0]
    item.alarm.tier, item.alarm.actions_enabled = "info", False
    item.alarm.save(update_fields=["tier", "actions_enabled"])
    for demote_to, says in [("info", "tier info already"), ("disable_actions", "disabled already"), ("x", "One of")]:
        with pytest.raises(ValidationError) as excinfo:
            item_decide(item=item, actor=member, decision="demote", reason="r", demote_to=demote_to)
        assert says in field_errors(excinfo)["demote_to"][0]


def test_delete_needs_a_reason(review, member):
    item = review["items"][3]
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=item, actor=member, decision="delete", reason="")
    assert list(field_errors(excinfo)) == ["reason"]
    item_decide(item=item, actor=member, decision="delete", reason="The function is gone.")
    item.refresh_from_db()
    assert item.decision == "delete"


def test_merge_records_the_partner_and_which_one_notifies(review, member):
    item, partner = review["items"][2], review["partner"]
    item_decide(item=item, actor=member, decision="merge", reason="Same outage.", merge_with=partner.pk)
    item.refresh_from_db()
    assert (item.merge_with, item.setting) == (partner, {"notifies": partner.pk})
    item_decide(item=item, actor=member, decision="merge", reason="Same outage.", merge_with=partner,
                notifies=item.alarm_id)  # fmt: skip
    item.refresh_from_db()
    assert item.setting == {"notifies": item.alarm_id}


def test_merge_without_a_live_partner_is_refused_on_merge_with(review, member):
    item, partner = review["items"][2], review["partner"]
    for merge_with, says in [(None, "Name the alarm"), (item.alarm_id, "itself"), (999_999, "no alarm")]:
        with pytest.raises(ValidationError) as excinfo:
            item_decide(item=item, actor=member, decision="merge", reason="r", merge_with=merge_with)
        assert says in field_errors(excinfo)["merge_with"][0]
    partner.deleted_at = timezone.now()
    partner.save(update_fields=["deleted_at"])
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=item, actor=member, decision="merge", reason="r", merge_with=partner.pk)
    assert "deleted" in field_errors(excinfo)["merge_with"][0]
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=item, actor=member, decision="merge", reason="r", merge_with=review["alarms"][0].pk,
                    notifies=partner.pk)  # fmt: skip
    assert "notifies" in field_errors(excinfo)


def test_an_unknown_decision_is_refused(review, member):
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=review["items"][0], actor=member, decision="ignore", reason="r")
    assert list(field_errors(excinfo)) == ["decision"]


def test_changing_a_decision_clears_the_old_ones_fields_and_audits_both(review, member, editor):
    item = review["items"][0]
    item_decide(item=item, actor=member, decision="keep", reason="For now.", rereview_on=later())
    item_decide(item=item, actor=editor, decision="delete", reason="On second thoughts.")
    item.refresh_from_db()
    assert (item.decision, item.rereview_on, item.decided_by) == ("delete", None, editor)
    entries = list(AuditEntry.objects.filter(action="review.decision").order_by("id"))
    assert [(e.before["decision"], e.after["decision"]) for e in entries] == [("", "keep"), ("keep", "delete")]
    assert [e.actor for e in entries] == [member, editor]


def decide_all(items, actor):
    for item in items:
        item_decide(item=item, actor=actor, decision="delete", reason="Unused.")


def test_sign_off_needs_every_item_decided_and_says_how_many_are_left(review, member):
    decide_all(review["items"][:3], member)
    with pytest.raises(ValidationError) as excinfo:
        review_sign_off(review=review["review"], actor=member)
    assert field_errors(excinfo) == {"items": ["2 items have no decision yet: decide every item first."]}
    assert Review.objects.get().signed_off_at is None


def test_sign_off_records_the_summary_audits_and_posts_it_to_the_team_channel(
    review, member, settings, caplog, django_capture_on_commit_callbacks
):
    settings.SLACK_BOT_TOKEN = ""
    team = review["review"].team
    team.chat_channel = "#payments"
    team.save(update_fields=["chat_channel"])
    items, partner = review["items"], review["partner"]
    item_decide(item=items[0], actor=member, decision="keep", reason="Real outages.", rereview_on=later())
    item_decide(item=items[1], actor=member, decision="tune", reason="Flaps.", setting={"datapoints_to_alarm": 1,
                "evaluation_periods": 3})  # fmt: skip
    item_decide(item=items[2], actor=member, decision="merge", reason="Same.", merge_with=partner.pk)
    item_decide(item=items[3], actor=member, decision="demote", reason="Noise.", demote_to="info")
    item_decide(item=items[4], actor=member, decision="delete", reason="Stuck forever.")

    with caplog.at_level(logging.INFO, logger="okami.chat"), django_capture_on_commit_callbacks(execute=True):
        signed = review_sign_off(review=review["review"], actor=member)

    signed.refresh_from_db()
    assert signed.signed_off_by == member and signed.signed_off_at is not None
    summary = signed.summary
    assert summary["items"] == 5
    assert summary["decisions"] == {"keep": 1, "tune": 1, "demote": 1, "delete": 1, "merge": 1}
    assert summary["rules"]["transient"] == {"items": 1, "tune": 1}
    # Demoted, deleted and merged: the alerts their evidence counts (12 + 13 + 14) would not have notified.
    assert summary["notifications_removed"] == 12 + 13 + 14
    assert summary["alarms_silenced"] == 3
    entry = AuditEntry.objects.get(action="review.sign_off")
    assert entry.actor == member and entry.after["notifications_removed"] == 39
    posted = [r.getMessage() for r in caplog.records if r.name == "okami.chat"]
    assert len(posted) == 1
    assert "chat post to #payments" in posted[0]
    assert "Weekly review of Payments, 2026-W11, signed off by mia: 5 items" in posted[0]
    assert "removed 39 notifications over the last 90 days" in posted[0]


def test_a_chat_failure_is_logged_and_never_undoes_the_sign_off(review, member, caplog, monkeypatch,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    review["review"].team.chat_channel = "#payments"
    review["review"].team.save(update_fields=["chat_channel"])
    decide_all(review["items"], member)

    class Broken:
        def post(self, **kwargs):
            raise RuntimeError("chat is down")

    monkeypatch.setattr("incidents.chat.notifier.notifier", lambda: Broken())
    with caplog.at_level(logging.ERROR, logger="okami.review"), django_capture_on_commit_callbacks(execute=True):
        review_sign_off(review=review["review"], actor=member)
    assert Review.objects.get().signed_off_at is not None
    assert any("summary not posted" in r.getMessage() for r in caplog.records)


def test_no_channel_no_post(review, member, caplog, django_capture_on_commit_callbacks):
    decide_all(review["items"], member)
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        review_sign_off(review=review["review"], actor=member)
    assert not [r for r in caplog.records if r.name == "okami.chat"]
    assert any("has no chat channel" in r.getMessage() for r in caplog.records)


def test_a_signed_off_review_refuses_decisions_and_a_second_sign_off(review, member):
    decide_all(review["items"], member)
    review_sign_off(review=review["review"], actor=member)
    with pytest.raises(ValidationError) as excinfo:
        item_decide(item=review["items"][0], actor=member, decision="keep", reason="r", rereview_on=later())
    assert list(field_errors(excinfo)) == ["review"]
    assert ReviewItem.objects.get(pk=review["items"][0].pk).decision == "delete"
    with pytest.raises(ValidationError) as excinfo:
        review_sign_off(review=review["review"], actor=member)
    assert "already" in field_errors(excinfo)["review"][0]


def test_who_may_review(review, member, outsider, editor, django_user_model):
    team = review["review"].team
    admin = django_user_model.objects.create_user("ada", password="pw-ada-12345", is_staff=True)
    assert can_review(member, team) and can_review(editor, team) and can_review(admin, team)
    assert not can_review(outsider, team)


def test_evidence_alert_count_reads_what_the_evidence_has():
    assert evidence_alert_count({"alerts": 7, "weekly": [{"alerts": 1}]}) == 7
    assert evidence_alert_count({"weekly": [1, 2, 3]}) == 6
    assert evidence_alert_count({"outcomes": {"actioned": 2, "no_action": 3}}) == 5
    assert evidence_alert_count({}) == 0 and evidence_alert_count(None) == 0
    assert set(decisions.REMOVING) == {"demote", "delete", "merge"}
