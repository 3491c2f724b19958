"""Celery tasks of the ingest: take ids, call one service."""

from celery import shared_task

from incidents.services.ingest import inbound_sweep


@shared_task(acks_late=True, ignore_result=True)
def inbound_sweep_task() -> int:
    """Everything pending: woken by the webhooks, and on beat for what arrived while the broker was down."""
    return inbound_sweep()


@shared_task(acks_late=True, ignore_result=True)
def history_backfill_all() -> int:
    """Beat, daily: one backfill task per enabled (account, region)."""
    from alarms.services.sync import sync_targets

    targets = sync_targets()
    for account, region in targets:
        history_backfill_task.delay(account.pk, region)
    return len(targets)


@shared_task(acks_late=True, ignore_result=True)
def history_backfill_task(account_pk: int, region: str) -> str:
    from alarms.models import AwsAccount
    from incidents.services.history import history_backfill

    account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
    if account is None:
        return "account gone or disabled"
    run = history_backfill(account=account, region=region)
    return run.status if run else "already running"


@shared_task(acks_late=True, ignore_result=True)
def incidents_close_task() -> int:
    """Beat, every minute: group the alerts whose alarm got its service since they opened, and close the
    incidents whose quiet period passed."""
    from incidents.services.grouping import alerts_group_pending, incidents_close

    alerts_group_pending()
    return incidents_close()


@shared_task(acks_late=True, ignore_result=True)
def outcomes_infer_task() -> int:
    """Beat: label the untouched alerts past the grace period transient or duplicate."""
    from incidents.services.inference import outcomes_infer

    result = outcomes_infer()
    return result.transient + result.duplicate
