"""Alert pages: each view calls a selector (or one service, for a POST) and renders."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from incidents import selectors
from incidents.choices import Outcome
from incidents.filtersets import AlertFilterSet
from incidents.models import Alert
from incidents.permissions import REFUSAL, can_label
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record
from portal.filter_forms import label_blank_choices

PAGE_SIZE = 50
# What a table cell can hold: "Actioned: someone did something" → "Actioned".
OUTCOME_NAMES = {value: label.split(":")[0] for value, label in Outcome.choices}
# The alerts a duplicate may name on the page: the incident's earlier ones, newest first, a screenful.
DUPLICATE_CHOICES = 100


def alert_list(request):
    filterset = AlertFilterSet(request.GET or None, queryset=selectors.alert_list(), request=request)
    label_blank_choices(filterset.form)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "incidents/alert_list.html", {"filter": filterset, "page": page, "outcome_names": OUTCOME_NAMES}
    )


def alert_detail(request, pk: int):
    alert = get_object_or_404(
        selectors.alert_list().select_related("outcome_by", "acknowledged_by", "duplicate_of__alarm"), pk=pk
    )
    may_label = can_label(request.user, alert)
    if request.method == "POST":
        if not may_label:
            raise PermissionDenied(REFUSAL)
        _respond(request, alert)
        return redirect("alert-detail", pk=alert.pk)
    changes = list(selectors.alert_state_changes(alert=alert))
    return render(
        request,
        "incidents/alert_detail.html",
        {
            "alert": alert,
            "changes": changes,
            "messages_in": selectors.state_change_messages(changes),
            "may_label": may_label,
            "outcomes": Outcome.choices,
            "outcome_names": OUTCOME_NAMES,
            "duplicate_choices": (
                list(selectors.duplicate_candidates(alert=alert)[:DUPLICATE_CHOICES]) if may_label else []
            ),
            "first_response": alert.first_response_at - alert.opened_at if alert.first_response_at else None,
        },
    )


def _respond(request, alert: Alert) -> None:
    """The alert page's one-click outcome buttons and its Acknowledge button; the result is a message."""
    if "acknowledge" in request.POST:
        alert_acknowledge(alert=alert, actor=request.user)
        messages.success(request, "Acknowledged.")
        return
    outcome = request.POST.get("outcome", "")
    duplicate_of = None
    if outcome == Outcome.DUPLICATE and request.POST.get("duplicate_of"):
        duplicate_of = selectors.duplicate_candidates(alert=alert).filter(pk=_int(request.POST["duplicate_of"])).first()
        if duplicate_of is None:
            messages.error(request, "Nothing changed: pick one of the incident's earlier alerts as the original.")
            return
    try:
        note = request.POST.get("note", "")
        alert_outcome_record(alert=alert, outcome=outcome, actor=request.user, note=note, duplicate_of=duplicate_of)
    except ValidationError as exc:
        messages.error(request, f"Nothing changed: {' '.join(exc.messages)}")
        return
    messages.success(request, f"Outcome recorded: {OUTCOME_NAMES[outcome]}.")


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None
