"""Incident pages: the list, and the incident page whose forms (edit, note, merge, split) post back to it. Each
post makes one service call and redirects with a message; a refusal changes nothing and says why."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from incidents import selectors
from incidents.choices import Announcement, CustomerImpact
from incidents.incident_filtersets import IncidentFilterSet
from incidents.models import Incident
from incidents.services.incidents import (
    NOTE_MAX,
    TITLE_MAX,
    incident_merge,
    incident_note_add,
    incident_split,
    incident_update,
)
from portal.filter_forms import label_blank_choices

PAGE_SIZE = 50


class IncidentForm(forms.Form):
    """The fields of an incident people own."""

    title = forms.CharField(max_length=TITLE_MAX)
    customer_impact = forms.ChoiceField(choices=CustomerImpact.choices, label="Customer impact")
    announcement = forms.ChoiceField(choices=Announcement.choices)


def incident_list(request):
    filterset = IncidentFilterSet(request.GET or None, queryset=selectors.incident_list(), request=request)
    label_blank_choices(filterset.form)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/incident_list.html", {"filter": filterset, "page": page})


def incident_detail(request, pk: int):
    incident = get_object_or_404(selectors.incident_list(), pk=pk)
    can_edit = selectors.incident_editable_by(incident=incident, user=request.user)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only editors and the service's team change an incident.")
        return _change(request, incident)
    alerts = list(selectors.incident_alerts(incident=incident))
    form = IncidentForm(
        initial={
            "title": incident.title,
            "customer_impact": incident.customer_impact,
            "announcement": incident.announcement,
        }
    )
    return render(
        request,
        "incidents/incident_detail.html",
        {
            "incident": incident,
            "alerts": alerts,
            "timeline": selectors.incident_timeline(incident, alerts=alerts),
            "can_edit": can_edit,
            "form": form if can_edit else None,
            "merge_candidates": list(selectors.incident_merge_candidates(incident=incident)) if can_edit else [],
            "note_max": NOTE_MAX,
        },
    )


def _change(request, incident: Incident):
    action = request.POST.get("action")
    try:
        if action == "update":
            form = IncidentForm(request.POST)
            if not form.is_valid():
                raise ValidationError([f"{form[name].label}: {' '.join(errs)}" for name, errs in form.errors.items()])
            incident_update(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, "Saved.")
        elif action == "note":
            incident_note_add(incident=incident, actor=request.user, text=request.POST.get("text", ""))
            messages.success(request, "Note added.")
        elif action == "merge":
            into = _merge_target(request)
            if into is not None and not selectors.incident_editable_by(incident=into, user=request.user):
                raise PermissionDenied("Only editors and the service's team change an incident.")
            incident_merge(source=incident, into=into, actor=request.user)
            messages.success(request, f"Incident #{incident.pk} merged into this one.")
            return redirect("incident-detail", pk=into.pk)
        elif action == "split":
            title = request.POST.get("split_title", "").strip() or None
            new = incident_split(incident=incident, alert_ids=_ids(request.POST.getlist("alerts")), actor=request.user,
                                 title=title)  # fmt: skip
            messages.success(request, f"Split off from incident #{incident.pk}.")
            return redirect("incident-detail", pk=new.pk)
        else:
            messages.error(request, "Unknown action; nothing was changed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages) + " Nothing was changed.")
    return redirect("incident-detail", pk=incident.pk)


def _merge_target(request) -> Incident | None:
    """The incident typed by number, or else the one chosen from the service's recent incidents."""
    raw = request.POST.get("into_id", "").strip().lstrip("#") or request.POST.get("into", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError({"into": "An incident number."})
    into = selectors.incident_list().filter(pk=int(raw)).first()
    if into is None:
        raise ValidationError({"into": f"There is no incident #{raw}."})
    return into


def _ids(values: list[str]) -> list[int]:
    if not all(v.isdigit() for v in values):
        raise ValidationError({"alerts": "Alert numbers only."})
    return [int(v) for v in values]
