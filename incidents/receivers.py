"""What the alerts app does on the catalog's signals."""

from django.conf import settings
from django.db.models import Count

from incidents.services.history import history_backfill


def history_after_sync(sender, *, account, region, triggered_by, **kwargs) -> None:
    """``sync_aws`` reads the alarm history of each key it refreshed (the run is recorded like the others)."""
    if settings.OKAMI_HISTORY_BACKFILL:
        history_backfill(account=account, region=region, triggered_by=triggered_by)


def incidents_follow_their_alarms(sender, instance, **kwargs) -> None:
    """A service is about to go (deleted, or merged into another after its alarms moved there): its incidents
    move to the service most of their alerts' alarms now belong to, joining that service's open incident if
    both are open (one open incident per service); with nowhere to go they keep no service."""
    from incidents.models import Alert, Incident
    from incidents.services.incidents import incident_merge

    for incident in Incident.objects.filter(service=instance).order_by("pk"):
        target = (
            Alert.objects.filter(incident=incident, alarm__service__isnull=False)
            .exclude(alarm__service=instance)
            .values("alarm__service")
            .annotate(n=Count("pk"))
            .order_by("-n", "alarm__service")
            .values_list("alarm__service", flat=True)
            .first()
        )
        if target is None:
            continue
        open_there = Incident.objects.filter(service_id=target, closed_at__isnull=True).first()
        if incident.closed_at is None and open_there is not None:
            incident_merge(source=incident, into=open_there, actor=None)
        else:
            Incident.objects.filter(pk=incident.pk).update(service_id=target)
