"""The inbox: the alerts of my teams that nobody labelled yet, newest first, labelled one or many at once."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from alarms.permissions import can_edit_governance
from incidents import selectors
from incidents.choices import Outcome
from incidents.models import Alert
from incidents.permissions import alerts_labellable
from incidents.services.outcomes import MAX_NOTE, alerts_outcome_record_bulk
from incidents.views.alerts import OUTCOME_NAMES

PAGE_SIZE = 50
# Numbered as the keyboard picks them (1 to 6); a duplicate names its original, so it is labelled on its page.
KEYED_OUTCOMES = [(n, value, OUTCOME_NAMES[value]) for n, value in enumerate(Outcome.values, start=1)]


class InboxLabelForm(forms.Form):
    alerts = forms.ModelMultipleChoiceField(queryset=Alert.objects.all(), error_messages={
        "required": "Select the alerts to label.",
        "invalid_choice": "Some of the selected alerts no longer exist.",
    })  # fmt: skip
    outcome = forms.ChoiceField(choices=[c for c in Outcome.choices if c[0] != Outcome.DUPLICATE])
    note = forms.CharField(required=False, max_length=MAX_NOTE)


def inbox(request):
    if request.method == "POST":
        return _label(request, back=_back(request.GET))
    user = request.user
    teams = list(user.teams.order_by("name"))
    all_teams = (request.GET.get("all") == "1" and can_edit_governance(user)) or selectors.inbox_of_every_team(
        user=user, teams=teams
    )
    alerts = selectors.inbox_alerts(user=user, all_teams=all_teams)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/inbox.html",
        {
            "page": page,
            "teams": teams,
            "all_teams": all_teams,
            "may_see_all": can_edit_governance(user),
            "outcomes": KEYED_OUTCOMES,
            "max_note": MAX_NOTE,
            # The navigation's count is this page's total: no second COUNT.
            **({} if all_teams and teams else {"inbox_count": page.paginator.count}),
        },
    )


def _label(request, *, back: str):
    """Label the selected alerts in one service call, or none of them; the result is a message (PRG)."""
    form = InboxLabelForm(request.POST)
    if not form.is_valid():
        problems = [message for errors in form.errors.values() for message in errors]
        messages.error(request, f"Nothing labelled: {' '.join(problems)}")
        return redirect(back)
    selected = form.cleaned_data["alerts"]
    if alerts_labellable(request.user, selected).count() != len(selected):
        messages.error(request, "Nothing labelled: some of the selected alerts belong to a team you are not in.")
        return redirect(back)
    try:
        count = alerts_outcome_record_bulk(
            alerts=selected, outcome=form.cleaned_data["outcome"], actor=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, f"Nothing labelled: {' '.join(exc.messages)}")
        return redirect(back)
    name = OUTCOME_NAMES[form.cleaned_data["outcome"]]
    messages.success(request, f"Labelled {count} alert{'' if count == 1 else 's'}: {name}.")
    return redirect(back)


def _back(params: QueryDict) -> str:
    """The inbox's own view (all teams, page) to come back to; nothing else from the request."""
    kept = QueryDict(mutable=True)
    for key in ("all", "page"):
        if params.get(key, "").isdigit():
            kept[key] = params[key]
    return f"{reverse('alert-inbox')}?{kept.urlencode()}" if kept else reverse("alert-inbox")
