"""Server-rendered pages of the catalog: each view calls selectors or one service and renders."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alarms import selectors
from alarms.filtersets import AlarmFilterSet, SyncRunFilterSet
from alarms.forms import AlarmGovernanceForm, BulkAssignForm
from alarms.models import Alarm, AwsAccount, Service
from alarms.permissions import can_edit_governance
from alarms.selectors.replacement import replacement_chain
from alarms.services.catalog import services_merge
from alarms.services.governance import alarm_update_governance
from alarms.services.replacement import replacement_unlink
from alarms.services.suggested_purpose import alarms_accept_suggestions
from alarms.tasks import enqueue_sync
from portal.filter_forms import label_blank_choices

PAGE_SIZE = 50


# Filters whose blank choice would repeat one of their own choices ("Live only" for deleted) get none.
NO_BLANK_CHOICE = frozenset({"deleted"})


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def alarm_list(request):
    filterset = AlarmFilterSet(
        request.GET or None, queryset=selectors.alarm_list().order_by("name", "id"), request=request
    )
    label_blank_choices(filterset.form, no_blank=NO_BLANK_CHOICE)
    can_edit = can_edit_governance(request.user)
    return render(
        request,
        "alarms/alarm_list.html",
        {
            "filter": filterset,
            "page": _page(request, filterset.qs),
            "can_edit": can_edit,
            "bulk_form": BulkAssignForm() if can_edit else None,
            "query": request.GET.urlencode(),
        },
    )


def alarm_detail(request, pk: int):
    alarm = get_object_or_404(selectors.alarm_list(), pk=pk)
    return render(
        request,
        "alarms/alarm_detail.html",
        {
            "alarm": alarm,
            "audit": selectors.alarm_audit(alarm=alarm),
            "chain": replacement_chain(alarm=alarm),
            "can_edit": can_edit_governance(request.user),
        },
    )


@require_POST
def alarm_replacement_unlink(request, pk: int):
    """Undo a wrong replacement link of alarm ``pk`` (the replaced one), from either alarm's page."""
    if not can_edit_governance(request.user):
        raise PermissionDenied("You need the permission to change alarm governance.")
    alarm = get_object_or_404(Alarm, pk=pk)
    successor_id = alarm.replaced_by_id
    try:
        replacement_unlink(alarm=alarm, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Unlinked: these alarms will not be linked again, and what was carried over and not changed since "
            "has been reverted.",
        )
    back = request.POST.get("back")
    return redirect("alarm-detail", pk=successor_id if back == str(successor_id) else pk)


@require_POST
def alarm_accept_suggestion(request, pk: int):
    """Fill the alarm's empty purpose, signal kind and tier from its suggestion."""
    if not can_edit_governance(request.user):
        raise PermissionDenied("You need the permission to change alarm governance.")
    alarm = get_object_or_404(Alarm, pk=pk, deleted_at__isnull=True)
    if alarms_accept_suggestions(alarm_ids=[alarm.pk], actor=request.user):
        messages.success(request, "Suggestion accepted: edit it to make it yours.")
    else:
        messages.info(request, "Nothing to accept: every suggested field is filled already.")
    return redirect("alarm-detail", pk=pk)


def alarm_governance(request, pk: int):
    if not can_edit_governance(request.user):
        raise PermissionDenied("You need the permission to change alarm governance.")
    alarm = get_object_or_404(selectors.alarm_list(), pk=pk)
    form = AlarmGovernanceForm(request.POST or None, instance=Alarm.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.changed_data}
        alarm_update_governance(alarm=alarm, actor=request.user, **values)
        messages.success(request, "Saved." if values else "Nothing changed.")
        return redirect("alarm-detail", pk=pk)
    return render(request, "alarms/alarm_governance.html", {"alarm": alarm, "form": form})


def service_list(request):
    return render(request, "alarms/service_list.html", {"services": selectors.service_list().order_by("name")})


def service_detail(request, slug: str):
    service = get_object_or_404(selectors.service_list(), slug=slug)
    alarms = selectors.alarm_list().filter(service=service, deleted_at__isnull=True).order_by("state", "name")
    targets = Service.objects.exclude(pk=service.pk).order_by("name") if request.user.is_staff else None
    return render(
        request,
        "alarms/service_detail.html",
        {"service": service, "page": _page(request, alarms), "merge_targets": targets},
    )


@require_POST
def service_merge(request, slug: str):
    """Merge this service into another (staff): alarms, rules and tag values move, then it is deleted."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can merge services.")
    source = get_object_or_404(Service, slug=slug)
    into = Service.objects.filter(slug=request.POST.get("into", "")).first()
    try:
        moved = services_merge(source=source, into=into, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("service-detail", slug=slug)
    messages.success(request, f"Merged {source.name} into {into.name}: {moved} alarms moved.")
    return redirect("service-detail", slug=into.slug)


def sync_run_list(request):
    filterset = SyncRunFilterSet(request.GET or None, queryset=selectors.sync_run_list())
    label_blank_choices(filterset.form, no_blank=NO_BLANK_CHOICE)
    return render(
        request,
        "alarms/sync_run_list.html",
        {
            "filter": filterset,
            "page": _page(request, filterset.qs),
            "unknown_accounts": list(AwsAccount.objects.filter(registered=False).order_by("account_id")),
        },
    )


@require_POST
def sync_now(request):
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can start a sync.")
    enqueue_sync(triggered_by=f"web:{request.user.get_username()}")
    messages.success(request, "A sync of every account and region has been queued.")
    return redirect("sync-run-list")
