"""What the alerts app does on the catalog's signals."""

from django.conf import settings

from incidents.services.history import history_backfill


def history_after_sync(sender, *, account, region, triggered_by, **kwargs) -> None:
    """``sync_aws`` reads the alarm history of each key it refreshed (the run is recorded like the others)."""
    if settings.OKAMI_HISTORY_BACKFILL:
        history_backfill(account=account, region=region, triggered_by=triggered_by)
