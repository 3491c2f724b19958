"""Review pages: the list (every team's history, or one team's with ``?team=``) and the review page, whose
decision forms and sign-off post back to it. Each post makes one service call and redirects with a message; a
refusal changes nothing and says why."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from alarms.models import Alarm
from alarms.review import selectors
from alarms.review.choices import Decision, DemoteTo, Rule
from alarms.review.filtersets import ReviewFilterSet
from alarms.review.models import ReviewItem
from alarms.review.permissions import REFUSAL, can_review
from alarms.review.services.decisions import (
    COMPARISON_OPERATORS,
    REASON_MAX,
    SETTING_FIELDS,
    TREAT_MISSING_DATA,
    alarm_setting,
    item_decide,
    review_sign_off,
    review_summary_text,
)
from portal.filter_forms import label_blank_choices

PAGE_SIZE = 50
RULE_LABELS = dict(Rule.choices)
SETTING_LABELS = {
    "threshold": "Threshold",
    "period": "Period (s)",
    "evaluation_periods": "Evaluation periods (N)",
    "datapoints_to_alarm": "Datapoints to alarm (M)",
    "statistic": "Statistic",
    "comparison_operator": "Comparison",
    "treat_missing_data": "Missing data",
}
SETTING_CHOICES = {
    "comparison_operator": sorted(COMPARISON_OPERATORS),
    "treat_missing_data": sorted(TREAT_MISSING_DATA),
}


def review_list(request):
    filterset = ReviewFilterSet(request.GET or None, queryset=selectors.review_list(), request=request)
    label_blank_choices(filterset.form)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/review_list.html", {"filter": filterset, "page": page})


def review_detail(request, pk: int):
    review = get_object_or_404(selectors.review_list(), pk=pk)
    items = list(selectors.review_items(review=review))
    groups: dict[str, list] = {}  # by rule, in the items' order (the rules' own)
    for item in items:
        item.current_setting = alarm_setting(item.alarm)
        item.form_setting = _prefill(item)
        item.merge_prefill = item.merge_with_id or _suggested_partner(item) or ""
        groups.setdefault(item.rule, []).append(item)
    progress = selectors.review_progress(items)
    can_decide = can_review(request.user, review.team) and not review.signed_off
    return render(
        request,
        "review/review_detail.html",
        {
            "review": review,
            "groups": [(RULE_LABELS.get(rule, rule), rule, rows) for rule, rows in groups.items()],
            "progress": progress,
            "can_decide": can_decide,
            "merge_choices": _merge_choices(items) if can_decide else [],
            "decisions": Decision.choices,
            "demote_choices": DemoteTo.choices,
            "reason_max": REASON_MAX,
            "summary_text": review_summary_text(review) if review.signed_off else "",
            "summary_rules": _summary_rules(review.summary) if review.signed_off else [],
        },
    )


def _summary_rules(summary: dict) -> list[tuple[str, dict]]:
    """The summary's counts per rule, ``(label, counts)``, in the order of the rules."""
    rules = summary.get("rules") if isinstance(summary, dict) else None
    rules = rules if isinstance(rules, dict) else {}
    order = {value: i for i, value in enumerate(Rule.values)}
    ordered = sorted(rules, key=lambda rule: order.get(rule, len(order)))
    return [(RULE_LABELS.get(rule, rule), rules[rule]) for rule in ordered]


def _prefill(item: ReviewItem) -> list[tuple]:
    """The tune fields of an item's form, ``(name, label, value, current, choices)``: its decided setting, else
    the suggested one, else the alarm's; ``choices`` for the fields CloudWatch names a closed set of values."""
    suggestion = item.suggestion if isinstance(item.suggestion, dict) else {}
    suggested = suggestion.get("setting")
    if not isinstance(suggested, dict):  # the engine may put the setting's fields in the suggestion itself
        suggested = {name: suggestion[name] for name in SETTING_FIELDS if name in suggestion}
    chosen = item.setting if item.decision == Decision.TUNE and item.setting else suggested
    chosen = chosen if isinstance(chosen, dict) else {}
    current = item.current_setting
    return [
        (name, label, chosen.get(name, current[name]), current[name], SETTING_CHOICES.get(name))
        for name, label in SETTING_LABELS.items()
    ]


def _suggested_partner(item: ReviewItem) -> int | None:
    partner = item.suggestion.get("merge_with") if isinstance(item.suggestion, dict) else None
    return partner if isinstance(partner, int) and not isinstance(partner, bool) else None


def _merge_choices(items: list[ReviewItem]) -> list[Alarm]:
    """The alarms an item may merge with, offered in one list for the page: the review's alarms and the partners
    the suggestions name (one query)."""
    ids = {item.alarm_id for item in items}
    ids |= {item.merge_prefill for item in items if item.merge_prefill}
    return list(Alarm.objects.filter(pk__in=ids, deleted_at__isnull=True).only("pk", "name").order_by("name"))


@require_POST
def review_item_decide(request, pk: int, item: int):
    review = get_object_or_404(selectors.review_list(), pk=pk)
    if not can_review(request.user, review.team):
        raise PermissionDenied(REFUSAL)
    target = get_object_or_404(ReviewItem.objects.select_related("alarm"), review=review, pk=item)
    data = request.POST
    try:
        decision = data.get("decision", "")
        notifies = target.alarm_id if decision == Decision.MERGE and data.get("notifies") == "self" else None
        item_decide(
            item=target,
            actor=request.user,
            decision=decision,
            reason=data.get("reason", ""),
            rereview_on=_date(data.get("rereview_on", "")) if decision == Decision.KEEP else None,
            setting={name: data.get(f"setting_{name}", "") for name in SETTING_FIELDS}
            if decision == Decision.TUNE
            else None,
            demote_to=data.get("demote_to", "") if decision == Decision.DEMOTE else "",
            merge_with=(data.get("merge_with", "").strip() or None) if decision == Decision.MERGE else None,
            notifies=notifies,
        )
        messages.success(request, f"{target.alarm.name}: {Decision(decision).label.lower()}, recorded.")
    except ValidationError as error:
        messages.error(request, f"{target.alarm.name}: {_said(error)} Nothing was changed.")
    return redirect(reverse("review-detail", args=[review.pk]) + f"#item-{target.pk}")


@require_POST
def review_sign_off_view(request, pk: int):
    review = get_object_or_404(selectors.review_list(), pk=pk)
    if not can_review(request.user, review.team):
        raise PermissionDenied(REFUSAL)
    try:
        review_sign_off(review=review, actor=request.user)
        messages.success(request, "Signed off; the summary goes to the team's chat channel.")
    except ValidationError as error:
        messages.error(request, _said(error))
    return redirect("review-detail", pk=review.pk)


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"rereview_on": "A date, YYYY-MM-DD."}) from None


def _said(error: ValidationError) -> str:
    """A ValidationError as one sentence per field, each naming its field."""
    if hasattr(error, "error_dict"):
        return " ".join(f"{field.replace('_', ' ')}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)
