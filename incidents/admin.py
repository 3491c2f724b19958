"""Admin: a team's alert policy and people's chat identities are edited here. Alerts and incidents are
read-only here: their outcomes, titles, impact and announcements are changed, and audited, through the portal's
pages and API."""

from django.contrib import admin

from alarms.admin import ReadOnlyAdmin
from incidents.models import Alert, ChatIdentity, Incident, TeamAlertPolicy


@admin.register(TeamAlertPolicy)
class TeamAlertPolicyAdmin(admin.ModelAdmin):
    list_display = ("team", "transient_max_seconds", "duplicate_window_seconds", "digest_time", "weekly_page_budget")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    search_fields = ("team__name", "team__slug")


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    """Which Slack user a portal user is: their button presses count as theirs."""

    list_display = ("user", "slack_user_id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    search_fields = ("user__username", "user__email", "slack_user_id")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("title", "service", "opened_at", "last_alert_at", "closed_at", "customer_impact", "announcement")
    list_filter = ("customer_impact", "announcement")
    list_select_related = ("service",)
    search_fields = ("title",)
    date_hierarchy = "opened_at"


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("alarm", "opened_at", "closed_at", "outcome", "outcome_inferred", "acknowledged_at", "incident")
    list_filter = ("outcome", "outcome_inferred")
    list_select_related = ("alarm", "incident")
    search_fields = ("alarm__name",)
    date_hierarchy = "opened_at"
    raw_id_fields = ("alarm", "incident", "duplicate_of")
