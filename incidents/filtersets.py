"""One FilterSet per list, shared by the alert pages and the API."""

import django_filters

from alarms.filtersets import YesNoField, YesNoFilter
from alarms.models import Alarm, Service, Team
from alarms.selectors.replacement import replacement_chain
from incidents.choices import Outcome
from incidents.models import Alert

UNLABELLED = "none"


class YesNoWordsField(YesNoField):
    """Also takes ``yes`` and ``no``, as people write them in a query string."""

    def to_python(self, value):
        return super().to_python({"yes": "true", "no": "false"}.get(value, value))


class YesNoWordsFilter(YesNoFilter):
    field_class = YesNoWordsField


class AlertFilterSet(django_filters.FilterSet):
    alarm_arn = django_filters.CharFilter(method="filter_alarm_arn", label="Alarm ARN")
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
    outcome = django_filters.ChoiceFilter(
        choices=[(UNLABELLED, "Not labelled yet"), *Outcome.choices], method="filter_outcome", label="Outcome"
    )
    # Yes: the outcome was inferred; no: a person's outcome, or none yet.
    inferred = YesNoWordsFilter(field_name="outcome_inferred", label="Inferred")
    incident = django_filters.NumberFilter(field_name="incident_id", label="Incident")

    class Meta:
        model = Alert
        fields: list[str] = []

    def filter_outcome(self, queryset, name, value):
        return queryset.filter(outcome="" if value == UNLABELLED else value)

    def filter_alarm_arn(self, queryset, name, value):
        """The alarm's alerts, and those of the alarms it replaced: its history follows it across a stack's
        replacement."""
        alarm = Alarm.objects.filter(arn=value).first()
        if alarm is None:
            return queryset.none()
        ids = [alarm.pk, *(a.pk for a in replacement_chain(alarm=alarm).replaces)]
        return queryset.filter(alarm_id__in=ids)
