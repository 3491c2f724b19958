"""The incident list's FilterSet, shared by the incident page and the API."""

import django_filters

from alarms.filtersets import YesNoFilter
from alarms.models import Service, Team
from incidents.choices import Announcement, CustomerImpact
from incidents.models import Incident


class IncidentFilterSet(django_filters.FilterSet):
    service = django_filters.ModelChoiceFilter(
        field_name="service", to_field_name="slug", queryset=Service.objects.order_by("name"), label="Service"
    )
    # An incident's team is its service's team.
    team = django_filters.ModelChoiceFilter(
        field_name="service__team", to_field_name="slug", queryset=Team.objects.order_by("name"), label="Team"
    )
    open = YesNoFilter(field_name="closed_at", lookup_expr="isnull", label="Open")
    customer_impact = django_filters.ChoiceFilter(choices=CustomerImpact.choices, label="Customer impact")
    announcement = django_filters.ChoiceFilter(choices=Announcement.choices, label="Announcement")
    since = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__gte", label="Opened from")
    until = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__lte", label="Opened until")

    class Meta:
        model = Incident
        fields: list[str] = []
