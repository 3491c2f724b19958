"""The tuning API: an alarm's suggested setting from its own metric, and the preview of a tune decision's
setting. Every signed-in user reads (as they read every alarm); a window outside 1 to 455 days is a 400, an
alarm the replay cannot tune is a 200 with no suggestion and the reason."""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import selectors as catalog
from alarms.review.models import ReviewItem
from alarms.review.services.decisions import SETTING_FIELDS
from alarms.review.services.tuning import alarm_tuning, default_days, tuning_preview

DAYS = OpenApiParameter(
    "days",
    int,
    description="The window, 1 to 455 days (default: the review lookback, cut to what CloudWatch keeps at "
    "the alarm's period: 15 days for a 1-minute alarm, 63 for a 5-minute one).",
    required=False,
)


class TuningSettingSerializer(serializers.Serializer):
    threshold = serializers.FloatField(allow_null=True)
    period = serializers.IntegerField()
    evaluation_periods = serializers.IntegerField()
    datapoints_to_alarm = serializers.IntegerField()
    statistic = serializers.CharField()
    comparison_operator = serializers.CharField()
    treat_missing_data = serializers.CharField()


# "from" is a Python keyword: the replay's fields are declared as a mapping.
TuningReplaySerializer = type(
    "TuningReplaySerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateTimeField(),
        "to": serializers.DateTimeField(),
        **{
            name: serializers.IntegerField(allow_null=True)
            for name in (
                "current_alerts",
                "suggested_alerts",
                "real_alerts",
                "real_alerts_kept",
                "max_delay_seconds",
                "current_matches_recorded",
            )
        },
    },
)


class TuningSerializer(serializers.Serializer):
    alarm_arn = serializers.CharField()
    current = TuningSettingSerializer(allow_null=True)
    suggested = TuningSettingSerializer(allow_null=True)
    reason = serializers.CharField()
    resolution_seconds = serializers.IntegerField(allow_null=True, help_text="The step the metric was read at.")
    replay = TuningReplaySerializer()


class TuningPreviewSerializer(serializers.Serializer):
    setting = TuningSettingSerializer()
    alerts = serializers.IntegerField(allow_null=True, help_text="Alerts the setting would have raised.")
    current_alerts = serializers.IntegerField(allow_null=True)
    real_alerts = serializers.IntegerField(allow_null=True)
    real_alerts_kept = serializers.IntegerField(allow_null=True)
    resolution_seconds = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class AlarmTuningView(APIView):
    """The alarm's current setting and the quietest one that, replayed over its metric, still fires for every
    alert labelled actioned or customer impact; or no suggestion and the reason."""

    @extend_schema(parameters=[DAYS], responses=TuningSerializer)
    def get(self, request, pk: int):
        alarm = get_object_or_404(catalog.alarm_list(), pk=pk)
        days = request.query_params.get("days")
        days = default_days(alarm) if days is None else days
        return Response(alarm_tuning(alarm=alarm, days=days))


class ItemTuningPreviewView(APIView):
    """What a tune decision's setting (the given fields over the alarm's current ones) would have done over the
    alarm's metric: the alerts it raises and the real alerts it still fires for."""

    @extend_schema(
        parameters=[DAYS, *(OpenApiParameter(name, str, required=False) for name in SETTING_FIELDS)],
        responses=TuningPreviewSerializer,
    )
    def get(self, request, pk: int, item: int):
        target = get_object_or_404(ReviewItem.objects.select_related("alarm__account"), review_id=pk, pk=item)
        setting = {name: request.query_params[name] for name in SETTING_FIELDS if name in request.query_params}
        days = request.query_params.get("days")
        days = default_days(target.alarm) if days is None else days
        return Response(tuning_preview(alarm=target.alarm, setting=setting, days=days))


urlpatterns = [
    path("alarms/<int:pk>/tuning/", AlarmTuningView.as_view(), name="alarm-tuning"),
    path(
        "reviews/<int:pk>/items/<int:item>/tuning-preview/",
        ItemTuningPreviewView.as_view(),
        name="review-item-tuning-preview",
    ),
]
