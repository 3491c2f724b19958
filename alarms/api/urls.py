from django.urls import path

from alarms.api import views


def register(router) -> None:
    router.register("teams", views.TeamViewSet, basename="team")
    router.register("services", views.ServiceViewSet, basename="service")
    router.register("alarms", views.AlarmViewSet, basename="alarm")
    router.register("aws-accounts", views.AwsAccountViewSet, basename="aws-account")
    router.register("sync-runs", views.SyncRunViewSet, basename="sync-run")
    router.register("resources", views.ResourceViewSet, basename="resource")
    router.register("mapping-rules", views.MappingRuleViewSet, basename="mapping-rule")
    router.register("rule-runs", views.RuleRunViewSet, basename="rule-run")


urlpatterns = [path("coverage/", views.CoverageView.as_view(), name="coverage")]
