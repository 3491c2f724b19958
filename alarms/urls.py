from django.urls import path

from alarms.views import catalog, ownership

urlpatterns = [
    path("alarms/", catalog.alarm_list, name="alarm-list"),
    path("alarms/bulk/", ownership.alarm_bulk_assign, name="alarm-bulk-assign"),
    path("alarms/<int:pk>/", catalog.alarm_detail, name="alarm-detail"),
    path("alarms/<int:pk>/governance/", catalog.alarm_governance, name="alarm-governance"),
    path("alarms/<int:pk>/accept-suggestion/", catalog.alarm_accept_suggestion, name="alarm-accept-suggestion"),
    path("alarms/<int:pk>/unlink-replacement/", catalog.alarm_replacement_unlink, name="alarm-replacement-unlink"),
    path("services/", catalog.service_list, name="service-list"),
    path("services/<slug:slug>/", catalog.service_detail, name="service-detail"),
    path("services/<slug:slug>/merge/", catalog.service_merge, name="service-merge"),
    path("sync-runs/", catalog.sync_run_list, name="sync-run-list"),
    path("sync-runs/now/", catalog.sync_now, name="sync-now"),
    path("rules/", ownership.rule_list, name="rule-list"),
    path("rules/new/", ownership.rule_edit, name="rule-new"),
    path("rules/apply/", ownership.rules_run, name="rules-apply"),
    path("rules/runs/<int:pk>/", ownership.rule_run, name="rule-run"),
    path("rules/<int:pk>/", ownership.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", ownership.rule_delete, name="rule-delete"),
    path("coverage/", ownership.coverage, name="coverage"),
]
