"""One FilterSet per list, shared by the HTML views and the API views."""

import django_filters
from django import forms
from django.db.models import Q

from alarms.choices import AlarmState, AlarmType, ResourceKind, SignalKind, SyncStatus, Tier
from alarms.models import HAS_PURPOSE, SUGGESTION_PENDING, Alarm, AwsAccount, Resource, Service, SyncRun, Team

DELETED_CHOICES = (("false", "Live only"), ("true", "Deleted only"), ("all", "Live and deleted"))


class YesNoSelect(forms.NullBooleanSelect):
    """Passes the submitted text on as it is: Django's select turns anything it does not know into blank."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class YesNoField(forms.NullBooleanField):
    """Yes, no or blank; anything else is an error rather than silently no filter at all (a bulk change over
    "every alarm matching the filters" must never select more than the person saw)."""

    widget = YesNoSelect
    ACCEPTED = (None, "", "unknown", True, False, "true", "false", "True", "False", "1", "0")

    def to_python(self, value):
        if value not in self.ACCEPTED:
            raise forms.ValidationError("Yes or no (true or false).", code="invalid")
        return super().to_python(value)


class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField


class AlarmFilterSet(django_filters.FilterSet):
    account_id = django_filters.ModelChoiceFilter(
        field_name="account", to_field_name="account_id", queryset=AwsAccount.objects.order_by("name"), label="Account"
    )
    region = django_filters.CharFilter()
    service = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=Service.objects.order_by("name"), label="Service"
    )
    owner_team = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=Team.objects.order_by("name"), label="Owner team"
    )
    state = django_filters.ChoiceFilter(choices=AlarmState.choices)
    type = django_filters.ChoiceFilter(field_name="alarm_type", choices=AlarmType.choices, label="Type")
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    signal_kind = django_filters.ChoiceFilter(choices=SignalKind.choices, label="Signal")
    no_owner = YesNoFilter(field_name="owner_team", lookup_expr="isnull", label="No owner")
    mine = YesNoFilter(method="filter_mine", label="My teams")
    has_purpose = YesNoFilter(method="filter_has_purpose", label="Has a purpose")
    suggested = YesNoFilter(method="filter_suggested", label="Suggestion waiting")
    orphaned = YesNoFilter(label="Orphaned")
    muted = YesNoFilter(field_name="actions_enabled", exclude=True, label="Actions disabled")
    arn = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search", label="Search")
    deleted = django_filters.ChoiceFilter(choices=DELETED_CHOICES, method="filter_deleted", label="Deleted")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("state", "state"),
            ("state_since", "state_since"),
            ("state_updated_at", "state_updated_at"),
            ("region", "region"),
            ("account__account_id", "account"),
            ("service__name", "service"),
            ("owner_team__name", "owner_team"),
            ("tier", "tier"),
        ),
        label="Sort",
    )

    class Meta:
        model = Alarm
        fields: list[str] = []

    def problems(self) -> list[str]:
        """Every invalid value and every unknown filter name: a selection that writes must use exactly the
        filters the person saw, never fewer."""
        invalid = [f"{name}: {' '.join(errors)}" for name, errors in self.errors.items()]
        unknown = [f"{name}: not a filter" for name in self.data if name not in self.filters and name != "page"]
        return invalid + unknown

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(metric_name__icontains=value)
        )

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value is None or user is None or not user.is_authenticated:
            return queryset
        mine = Q(owner_team__members=user)
        return queryset.filter(mine) if value else queryset.exclude(mine)

    def filter_has_purpose(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(HAS_PURPOSE) if value else queryset.exclude(HAS_PURPOSE)

    def filter_suggested(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(SUGGESTION_PENDING) if value else queryset.exclude(SUGGESTION_PENDING)

    def filter_deleted(self, queryset, name, value):
        if value == "true":
            return queryset.filter(deleted_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)

    def filter_queryset(self, queryset):
        # Deleted alarms are history: hidden unless the ``deleted`` filter asks for them.
        if not self.form.cleaned_data.get("deleted"):
            queryset = queryset.filter(deleted_at__isnull=True)
        return super().filter_queryset(queryset)


class ServiceFilterSet(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")

    class Meta:
        model = Service
        fields: list[str] = []


class ResourceFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ResourceKind.choices)
    account_id = django_filters.CharFilter(field_name="account__account_id", label="Account")
    region = django_filters.CharFilter()
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    owner_team = django_filters.CharFilter(field_name="owner_team__slug", label="Owner team")
    unalarmed = YesNoFilter(method="filter_unalarmed", label="Without alarm")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    deleted = YesNoFilter(field_name="deleted_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Resource
        fields: list[str] = []

    def filter_unalarmed(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(alarm_count=0) if value else queryset.filter(alarm_count__gt=0)


class SyncRunFilterSet(django_filters.FilterSet):
    account_id = django_filters.CharFilter(field_name="account__account_id", label="Account")
    region = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = SyncRun
        fields: list[str] = []
