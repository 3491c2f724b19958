"""Celery tasks of the ingest: take ids, call one service."""

from celery import shared_task

from incidents.services.ingest import inbound_process, inbound_process_pending


@shared_task(acks_late=True, ignore_result=True)
def inbound_process_task(message_pk: int) -> str:
    return inbound_process(message_pk=message_pk)


@shared_task(acks_late=True, ignore_result=True)
def inbound_sweep_task() -> int:
    """Messages stored while the broker was down, or whose task was lost."""
    return inbound_process_pending()


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
