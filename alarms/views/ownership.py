"""Ownership pages: bulk assignment, mapping rules with a dry run, coverage."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alarms import selectors
from alarms.filtersets import AlarmFilterSet
from alarms.forms import BulkAssignForm, MappingRuleForm
from alarms.models import MappingRule, RuleRun, Service, Team
from alarms.permissions import can_edit_governance
from alarms.selectors.coverage import coverage_estate
from alarms.services.bulk import MAX_ALARMS, alarms_bulk_assign
from alarms.services.mapping import (
    mapping_rule_delete,
    mapping_rule_save,
    rule_preview,
    rule_problem,
    rules_apply,
)
from alarms.services.rule_runs import PREVIEW_ROWS, rule_run_lost, rule_run_request, rules_run_in_worker
from alarms.services.suggested_purpose import alarms_accept_suggestions

CONFIRM_SAMPLE = 20


def _require_editor(request) -> None:
    if not can_edit_governance(request.user):
        raise PermissionDenied("You need the permission to change alarm governance.")


@require_POST
def alarm_bulk_assign(request):
    """Assign the selected alarms at once; "every alarm matching the filters" first shows what it would
    change and asks to confirm, and writes only if the filters still select exactly what was confirmed."""
    _require_editor(request)
    form = BulkAssignForm(request.POST)
    back = f"/alarms/?{request.POST.get('query', '')}"
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Check the bulk assignment form.")
        return redirect(back)
    if form.cleaned_data["scope"] == "filtered":
        filterset = AlarmFilterSet(
            QueryDict(request.POST.get("query", "")), queryset=selectors.alarm_list(), request=request
        )
        problems = filterset.problems()
        if problems:
            messages.error(request, f"These filters are not valid ({'; '.join(problems)}); nothing was changed.")
            return redirect(back)
        ids = list(filterset.qs.order_by().values_list("id", flat=True)[: MAX_ALARMS + 1])
        confirmed = form.cleaned_data.get("confirmed_count")
        if confirmed != len(ids):
            return render(
                request,
                "alarms/bulk_confirm.html",
                {
                    "form": form,
                    "count": len(ids),
                    "confirmed": confirmed,
                    "too_many": len(ids) > MAX_ALARMS,
                    "max_alarms": MAX_ALARMS,
                    "filters": _described(filterset),
                    "sample": filterset.qs.order_by("name").values_list("name", flat=True)[:CONFIRM_SAMPLE],
                    "query": request.POST.get("query", ""),
                },
            )
    else:
        ids = [alarm.pk for alarm in form.cleaned_data["alarms"]]
    try:
        with transaction.atomic():
            changed = alarms_bulk_assign(alarm_ids=ids, actor=request.user, **form.values()) if form.values() else 0
            accepted = (
                alarms_accept_suggestions(alarm_ids=ids, actor=request.user)
                if form.cleaned_data.get("accept_suggestions")
                else None
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    done = [f"updated {changed} of {len(ids)} alarms"] if form.values() else []
    done += [f"accepted the suggestions of {accepted} of {len(ids)} alarms"] if accepted is not None else []
    messages.success(request, "; ".join(done).capitalize() + ".")
    return redirect(back)


def _described(filterset) -> list[tuple[str, str]]:
    """The filters in force, labelled as on the list page."""
    described = []
    for name, value in filterset.form.cleaned_data.items():
        if name == "ordering" or value in (None, "", []):
            continue
        shown = ("Yes" if value else "No") if isinstance(value, bool) else str(value)
        described.append((str(filterset.form.fields[name].label or name), shown))
    return described


def rule_list(request):
    rules = list(selectors.mapping_rule_list())
    return render(
        request,
        "alarms/rule_list.html",
        {
            "rules": rules,
            # Rules stored before a check existed that they now fail: the rules leave them out until fixed.
            "problems": {rule.pk: rule_problem(rule) for rule in rules if rule.enabled},
            "can_edit": can_edit_governance(request.user),
        },
    )


def rule_edit(request, pk: int | None = None):
    """Create or edit a rule. "Preview" shows what it would reassign; "Save" validates, saves and audits."""
    _require_editor(request)
    rule = get_object_or_404(MappingRule, pk=pk) if pk else MappingRule()
    form = MappingRuleForm(request.POST or None, instance=rule)
    preview = None
    if request.method == "POST" and form.is_valid():
        candidate = form.save(commit=False)
        try:
            if "preview" in request.POST and rules_run_in_worker():
                run = rule_run_request(kind=RuleRun.Kind.PREVIEW, actor=request.user, rule=candidate)
                return redirect("rule-run", pk=run.pk)
            if "preview" in request.POST:
                preview = rule_preview(rule=candidate)
            else:
                mapping_rule_save(rule=candidate, actor=request.user)
                messages.success(request, f"Rule “{candidate.name}” saved. Apply the rules to reassign alarms.")
                return redirect("rule-list")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    return render(
        request,
        "alarms/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview,
            "preview_rows": preview.reassignments[:PREVIEW_ROWS] if preview else [],
            "services": dict(Service.objects.values_list("id", "name")),
            "teams": dict(Team.objects.values_list("id", "name")),
        },
    )


@require_POST
def rule_delete(request, pk: int):
    _require_editor(request)
    mapping_rule_delete(rule=get_object_or_404(MappingRule, pk=pk), actor=request.user)
    messages.success(request, "Rule deleted.")
    return redirect("rule-list")


@require_POST
def rules_run(request):
    _require_editor(request)
    if rules_run_in_worker():
        run = rule_run_request(kind=RuleRun.Kind.APPLY, actor=request.user)
        return redirect("rule-run", pk=run.pk)
    try:
        changed = rules_apply(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Rules applied: {changed} alarms reassigned.")
    return redirect("rule-list")


def rule_run(request, pk: int):
    """A rules run in a worker; the page refreshes itself until the run is finished."""
    run = get_object_or_404(RuleRun.objects.select_related("requested_by"), pk=pk)
    return render(
        request,
        "alarms/rule_run.html",
        {
            "run": run,
            "lost": rule_run_lost(run),
            "services": dict(Service.objects.values_list("id", "name")),
            "teams": dict(Team.objects.values_list("id", "name")),
        },
    )


def coverage(request):
    return render(request, "alarms/coverage.html", {"coverage": coverage_estate()})
