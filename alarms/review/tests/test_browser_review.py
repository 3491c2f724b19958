"""A reviewer in headless Chromium decides the three items of the week's review, signs it off and sees the
summary that went to the team's channel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alarms.review.models import Review, ReviewItem
from alarms.review.tests.review_rows import make_review
from alarms.tests.test_browser import log_in, page  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_decides_three_items_signs_off_and_sees_the_summary(
    page,  # noqa: F811
    live_server,
    django_user_model,
    catalog,
    make_alarms,
    settings,
):
    settings.SLACK_BOT_TOKEN = ""
    rita = django_user_model.objects.create_user("rita", password="pw-rita-123")
    catalog["team"].members.add(rita)
    alarms = make_alarms(catalog["account"], 3, prefix="checkout", owner_team=catalog["team"],
                         service=catalog["service"], tier="page")  # fmt: skip
    review, items = make_review(catalog["team"], alarms, rules=["never_acted_on", "noisy", "stuck"])
    keep, demote, delete = items
    rereview = (timezone.localdate() + timedelta(days=90)).isoformat()

    log_in(page, live_server, "rita", "pw-rita-123", f"/reviews/{review.pk}/")
    assert page.locator(".review-item").count() == 3
    assert page.locator(".review-item svg.review-timeline").count() == 3
    assert page.inner_text("#review-progress") == "0 of 3"
    assert page.locator("#sign-off").count() == 0

    def decide(item, decision, **fields):
        form = page.locator(f"#item-{item.pk} form.decision-form")
        form.locator('select[name="decision"]').select_option(decision)
        for name, value in fields.items():
            field = form.locator(f'[name="{name}"]')
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert "recorded" in page.inner_text(".flash-success")
        assert "decided, not applied" in page.inner_text(f"#item-{item.pk} .item-status")

    # Only the chosen decision's fields show: a keep asks for the re-review date, not for a tier.
    form = page.locator(f"#item-{keep.pk} form.decision-form")
    form.locator('select[name="decision"]').select_option("keep")
    assert form.locator('[name="rereview_on"]').is_visible()
    assert not form.locator('[name="demote_to"]').is_visible()

    decide(keep, "keep", reason="It caught the March outage.", rereview_on=rereview)
    decide(demote, "demote", reason="Nobody acts on it at night.", demote_to="ticket")
    decide(delete, "delete", reason="The queue it watched is gone.")
    assert page.inner_text("#review-progress") == "3 of 3"

    with page.expect_navigation():
        page.click("#sign-off")
    assert "Signed off" in page.inner_text(".flash-success")
    summary = page.inner_text("#review-summary")
    assert "Weekly review of Payments, 2026-W11, signed off by rita: 3 items (keep 1, demote 1, delete 1)." in summary
    # The demoted and deleted alarms' alerts (11 and 12 in the evidence) would not have notified.
    assert page.inner_text("#notifications-removed") == "23"
    assert page.locator("form.decision-form").count() == 0

    assert Review.objects.get().signed_off_by == rita
    assert dict(ReviewItem.objects.values_list("pk", "decision")) == {
        keep.pk: "keep",
        demote.pk: "demote",
        delete.pk: "delete",
    }
