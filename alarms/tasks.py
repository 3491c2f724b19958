"""Celery tasks of the catalog: thin wrappers that take ids and call one service."""

import logging

from celery import shared_task
from django.db import transaction

from alarms.models import AwsAccount
from alarms.services.refresh import catalog_refresh
from alarms.services.rule_runs import rule_run_execute
from alarms.services.sync import sync_targets

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sync_all_accounts(triggered_by: str = "schedule") -> int:
    """Fan out: one small sync task per enabled (account, region). Returns how many were enqueued."""
    targets = sync_targets()
    for account, region in targets:
        sync_account_region.delay(account.pk, region, triggered_by)
    return len(targets)


@shared_task(acks_late=True, ignore_result=True)
def sync_account_region(account_pk: int, region: str, triggered_by: str = "schedule") -> str:
    """Refresh one (account, region): inventory, alarms, links, ownership. Overlapping runs of the same key
    are skipped by the SyncRun lock; AWS errors (throttling included, after backoff) end the run as failed
    and the next schedule retries."""
    account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
    if account is None:
        return "account gone or disabled"
    result = catalog_refresh(account=account, region=region, triggered_by=triggered_by)
    if result.alarms is None:
        return "skipped: already running"
    return f"alarms {result.alarms.status}, {result.reassigned} reassigned"


def enqueue_sync(*, triggered_by: str) -> None:
    """Start a fan-out once the caller's transaction commits (the web 'sync now' button)."""
    transaction.on_commit(lambda: sync_all_accounts.delay(triggered_by))


@shared_task(acks_late=True, ignore_result=True)
def rule_run_execute_task(run_id: int) -> str:
    """Apply the rules, or preview a rule, for the web page that recorded the run."""
    run = rule_run_execute(run_id=run_id)
    return "already taken" if run is None else run.status
