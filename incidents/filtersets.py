"""One FilterSet per list, shared by the alert pages and the API."""

import django_filters

from alarms.filtersets import YesNoFilter
from alarms.models import Service, Team
from incidents.models import Alert


class AlertFilterSet(django_filters.FilterSet):
    alarm_arn = django_filters.CharFilter(field_name="alarm__arn", label="Alarm ARN")
    alarm = django_filters.CharFilter(field_name="alarm__name", lookup_expr="icontains", label="Alarm")
    team = django_filters.ModelChoiceFilter(
        field_name="alarm__owner_team", to_field_name="slug", queryset=Team.objects.order_by("name"), label="Team"
    )
    service = django_filters.ModelChoiceFilter(
        field_name="alarm__service", to_field_name="slug", queryset=Service.objects.order_by("name"), label="Service"
    )
    open = YesNoFilter(field_name="closed_at", lookup_expr="isnull", label="Open")
    since = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__gte", label="Opened from")
    until = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__lte", label="Opened until")

    class Meta:
        model = Alert
        fields: list[str] = []
