"""What the review API reads and takes."""

from rest_framework import serializers

from alarms.review.choices import ApplyStatus, Decision, DemoteTo
from alarms.review.models import Review, ReviewItem
from alarms.review.services.decisions import REASON_MAX


class ReviewSerializer(serializers.ModelSerializer):
    """A team's review of one ISO week and its progress; read from ``selectors.review_list``."""

    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    signed_off_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    item_count = serializers.IntegerField(read_only=True)
    decided_count = serializers.IntegerField(read_only=True)
    complete = serializers.SerializerMethodField(help_text="Every item has a decision.")
    summary = serializers.JSONField(
        read_only=True,
        help_text="After sign-off: items, decisions and rules counted, notifications_removed, lookback_days.",
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "team",
            "team_name",
            "week",
            "opened_at",
            "lookback_days",
            "item_count",
            "decided_count",
            "complete",
            "signed_off_by",
            "signed_off_at",
            "summary",
        ]
        read_only_fields = fields

    def get_complete(self, review) -> bool:
        return review.decided_count == review.item_count


class ReviewItemSerializer(serializers.ModelSerializer):
    """A candidate of the review: its alarm, the rule that found it, the evidence and suggestion as they stood
    when the review opened, and the decision. ``decision`` and ``apply_status`` are null until set."""

    alarm_arn = serializers.CharField(source="alarm.arn", read_only=True)
    alarm_name = serializers.CharField(source="alarm.name", read_only=True)
    evidence = serializers.JSONField(read_only=True)
    suggestion = serializers.JSONField(read_only=True)
    setting = serializers.JSONField(
        read_only=True, allow_null=True, help_text="Tune: the new SETTING. Merge: {notifies: alarm id}."
    )
    merge_with_arn = serializers.CharField(source="merge_with.arn", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decision = serializers.ChoiceField(choices=Decision.choices, read_only=True, allow_null=True)
    apply_status = serializers.ChoiceField(
        choices=[c for c in ApplyStatus.choices if c[0]], read_only=True, allow_null=True
    )
    status = serializers.SerializerMethodField(help_text='"undecided", "decided, not applied", or the apply status.')

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "review",
            "alarm",
            "alarm_arn",
            "alarm_name",
            "rule",
            "evidence",
            "suggestion",
            "decision",
            "reason",
            "rereview_on",
            "setting",
            "demote_to",
            "merge_with",
            "merge_with_arn",
            "decided_by",
            "decided_at",
            "status",
            "apply_status",
            "apply_error",
        ]
        read_only_fields = fields

    def get_status(self, item) -> str:
        if not item.decision:
            return "undecided"
        return item.get_apply_status_display().lower() if item.apply_status else "decided, not applied"

    def to_representation(self, item):
        data = super().to_representation(item)
        data["decision"] = item.decision or None
        data["apply_status"] = item.apply_status or None
        return data


class SettingSerializer(serializers.Serializer):
    """A new SETTING; a field left out keeps the alarm's current value."""

    threshold = serializers.FloatField(required=False)
    period = serializers.IntegerField(required=False, min_value=1, help_text="Seconds.")
    evaluation_periods = serializers.IntegerField(required=False, min_value=1, help_text="N of M of N.")
    datapoints_to_alarm = serializers.IntegerField(required=False, min_value=1, help_text="M of M of N.")
    statistic = serializers.CharField(required=False, max_length=64)
    comparison_operator = serializers.CharField(required=False, max_length=64)
    treat_missing_data = serializers.CharField(required=False, max_length=32)


class DecisionSerializer(serializers.Serializer):
    """A decision. Every decision needs ``reason``; keep needs ``rereview_on`` (a future date), tune ``setting``,
    demote ``demote_to``, merge ``merge_with`` (and optionally ``notifies``: which of the two alarms keeps
    notifying, the one merged with by default)."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX, default="")
    rereview_on = serializers.DateField(required=False, allow_null=True, default=None)
    setting = SettingSerializer(required=False, allow_null=True, default=None)
    demote_to = serializers.ChoiceField(choices=DemoteTo.choices, required=False, allow_blank=True, default="")
    merge_with = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="An alarm id.")
    notifies = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Merge: the id of the alarm that keeps notifying."
    )
