"""Admin: teams and services are edited here; everything that must be audited (alarm governance, AWS
accounts) is read-only here and changed through the portal's pages, API or commands. Deleting a team or a
service goes through the catalog service, which hands their alarms back to the rules and audits it."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import render

from alarms.models import Alarm, AuditEntry, AwsAccount, Resource, Service, ServiceAlias, SyncRun, Team, TeamAlias
from alarms.services.catalog import (
    catalog_entry_save,
    services_delete,
    services_merge,
    teams_delete,
    teams_merge,
)


def merge_action(merge, noun: str):
    """An admin action merging the selected services (or teams) into one chosen on a confirmation page."""

    @admin.action(description=f"Merge the selected {noun}s into another {noun}")
    def merge_selected(modeladmin, request, queryset):
        if "confirm" not in request.POST:
            return render(
                request,
                "admin/alarms/merge.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "queryset": queryset,
                    "targets": queryset.model.objects.exclude(pk__in=queryset).order_by("name"),
                    "noun": noun,
                    "action": "merge_selected",
                },
            )
        into = queryset.model.objects.filter(pk=request.POST.get("into") or None).first()
        try:
            moved = sum(merge(source=source, into=into, actor=request.user) for source in queryset)
        except ValidationError as exc:
            modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        modeladmin.message_user(request, f"Merged into {into.name}: {moved} alarms moved.")
        return None

    return merge_selected


class AliasInline(admin.TabularInline):
    """Tag values naming a service or team, for reading: they are made by discovery and moved by merges."""

    extra = 0
    fields = ("value", "created_at")
    readonly_fields = ("value", "created_at")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "chat_channel", "discovered_from", "first_seen_at")
    search_fields = ("name", "slug", "aliases__value")
    readonly_fields = ("discovered_from", "first_seen_at")
    inlines = [type("TeamAliasInline", (AliasInline,), {"model": TeamAlias})]
    actions = [merge_action(teams_merge, "team")]
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)

    def save_model(self, request, obj, form, change):
        catalog_entry_save(entry=obj, changed=form.changed_data, actor=request.user)

    def delete_model(self, request, obj):
        teams_delete(teams=[obj], actor=request.user)

    def delete_queryset(self, request, queryset):
        teams_delete(teams=list(queryset), actor=request.user)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "team", "discovered_from", "first_seen_at")
    list_filter = ("team",)
    search_fields = ("name", "slug", "aliases__value")
    readonly_fields = ("discovered_from", "first_seen_at")
    inlines = [type("ServiceAliasInline", (AliasInline,), {"model": ServiceAlias})]
    actions = [merge_action(services_merge, "service")]
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        catalog_entry_save(entry=obj, changed=form.changed_data, actor=request.user)

    def delete_model(self, request, obj):
        services_delete(services=[obj], actor=request.user)

    def delete_queryset(self, request, queryset):
        services_delete(services=list(queryset), actor=request.user)


@admin.register(AwsAccount)
class AwsAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "account_id", "role_arn", "enabled")
    exclude = ("external_id", "write_external_id")  # shared secrets: never shown


@admin.register(Alarm)
class AlarmAdmin(ReadOnlyAdmin):
    list_display = ("name", "account", "region", "state", "service", "owner_team", "tier", "deleted_at")
    list_filter = ("state", "region", "tier", "alarm_type")
    search_fields = ("name", "arn")
    list_select_related = ("account", "service", "owner_team")


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "account", "region", "service", "owner_team", "deleted_at")
    list_filter = ("kind", "region")
    search_fields = ("name", "arn")
    list_select_related = ("account", "service", "owner_team")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "account", "region", "status", "created", "updated", "deleted", "duration_ms")
    list_filter = ("status",)
    list_select_related = ("account",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "target")
    list_filter = ("action",)
    search_fields = ("target", "actor_name")
