"""Admin: a team's review thresholds are edited here. Reviews and their items are read-only here: decisions and
sign-offs are recorded, and audited, through the review pages and API."""

from django.contrib import admin

from alarms.admin import ReadOnlyAdmin
from alarms.review.models import Review, ReviewItem, TeamReviewPolicy


@admin.register(TeamReviewPolicy)
class TeamReviewPolicyAdmin(admin.ModelAdmin):
    list_display = ("team", "rules", "reviews_unclaimed")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    search_fields = ("team__name", "team__slug")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("team", "week", "opened_at", "lookback_days", "signed_off_by", "signed_off_at")
    list_filter = ("team",)
    list_select_related = ("team", "signed_off_by")
    search_fields = ("team__name", "team__slug", "week")
    date_hierarchy = "opened_at"


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("alarm", "review", "rule", "decision", "decided_by", "decided_at", "apply_status")
    list_filter = ("rule", "decision", "apply_status")
    list_select_related = ("alarm", "review", "review__team", "decided_by")
    search_fields = ("alarm__name", "alarm__arn")
    raw_id_fields = ("review", "alarm", "merge_with", "decided_by")
