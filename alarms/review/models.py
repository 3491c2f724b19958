"""A review per team and ISO week; its items are the candidates it snapshotted, each with the decision taken."""

from django.conf import settings
from django.db import models

from alarms.models import Alarm, Team
from alarms.review.choices import ApplyStatus, Decision, DemoteTo, Rule


class Review(models.Model):
    """One team's review of one ISO week (``2026-W49``); opened once, whatever re-runs it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="reviews")
    week = models.CharField(max_length=8, help_text="ISO week, YYYY-Www.")
    opened_at = models.DateTimeField()
    lookback_days = models.PositiveSmallIntegerField(help_text="The window its evidence covers.")
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="What the sign-off reported.")

    class Meta:
        ordering = ["-week", "team__name"]
        constraints = [models.UniqueConstraint(fields=["team", "week"], name="review_once_per_team_week")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.week}"

    @property
    def signed_off(self) -> bool:
        return self.signed_off_at is not None


class ReviewItem(models.Model):
    """A candidate as it stood when the review opened (evidence and suggestion are snapshots), and its decision."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="items")
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="review_items")
    rule = models.CharField(max_length=32, choices=Rule.choices)
    evidence = models.JSONField(default=dict)
    suggestion = models.JSONField(default=dict)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    reason = models.TextField(blank=True)
    rereview_on = models.DateField(null=True, blank=True)
    setting = models.JSONField(null=True, blank=True, help_text="A tune decision's new setting.")
    demote_to = models.CharField(max_length=32, choices=DemoteTo.choices, blank=True)
    merge_with = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    apply_status = models.CharField(max_length=16, choices=ApplyStatus.choices, blank=True)
    apply_error = models.TextField(blank=True)

    class Meta:
        ordering = ["rule", "alarm__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "alarm", "rule"], name="review_item_once"),
        ]
        indexes = [models.Index(fields=["alarm", "decided_at"], name="review_item_alarm_decided_idx")]

    def __str__(self) -> str:
        return f"{self.rule} {self.alarm_id}"


class TeamReviewPolicy(models.Model):
    """A team's own review thresholds: ``rules`` overrides settings.OKAMI_REVIEW_RULES key by key, e.g.
    ``{"transient": {"share": 0.7}}``."""

    team = models.OneToOneField(Team, primary_key=True, on_delete=models.CASCADE, related_name="review_policy")
    rules = models.JSONField(default=dict, blank=True)
    reviews_unclaimed = models.BooleanField(
        default=False,
        help_text="Its review also lists the alarms nobody claims: no owner, and no service or a service of no "
        "team (one team at most; usually platform or SRE).",
    )

    class Meta:
        verbose_name_plural = "team review policies"
        constraints = [
            models.UniqueConstraint(
                fields=["reviews_unclaimed"], condition=models.Q(reviews_unclaimed=True), name="review_unclaimed_once"
            )
        ]

    def __str__(self) -> str:
        return f"review policy of {self.team_id}"
