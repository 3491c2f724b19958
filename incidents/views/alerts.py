"""Alert pages: each view calls a selector and renders."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from incidents import selectors
from incidents.filtersets import AlertFilterSet
from portal.filter_forms import label_blank_choices

PAGE_SIZE = 50


def alert_list(request):
    filterset = AlertFilterSet(request.GET or None, queryset=selectors.alert_list(), request=request)
    label_blank_choices(filterset.form)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/alert_list.html", {"filter": filterset, "page": page})


def alert_detail(request, pk: int):
    alert = get_object_or_404(selectors.alert_list(), pk=pk)
    changes = list(selectors.alert_state_changes(alert=alert))
    return render(
        request,
        "incidents/alert_detail.html",
        {"alert": alert, "changes": changes, "messages_in": selectors.state_change_messages(changes)},
    )
