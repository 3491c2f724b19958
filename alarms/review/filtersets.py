"""The review list's FilterSet, shared by the review page and the API."""

import django_filters

from alarms.filtersets import YesNoFilter
from alarms.models import Team
from alarms.review.models import Review


class ReviewFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=Team.objects.order_by("name"), label="Team"
    )
    signed_off = YesNoFilter(field_name="signed_off_at", lookup_expr="isnull", exclude=True, label="Signed off")
    week = django_filters.CharFilter(field_name="week", label="Week (YYYY-Www)")

    class Meta:
        model = Review
        fields: list[str] = []
