"""Alarm sync: one (account, region) at a time, incremental and idempotent.

Per page of DescribeAlarms the records are compared with the catalog by digest; only new or changed
alarms are written, in one upsert statement per page. Alarms missing from AWS get ``deleted_at`` (their
history stays) and come back if they reappear. The SyncRun row is both the report and the lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncKind, SyncStatus
from alarms.models import AWS_FIELDS, Alarm, AwsAccount, SyncRun
from portal.db import upsert_rows, without_commit_wait

logger = logging.getLogger(__name__)

UPSERT_FIELDS = [name for name in AWS_FIELDS if name != "account"] + ["deleted_at", "actions_disabled_since"]
# Catalog columns that take an AlarmRecord attribute of the same name.
RECORD_FIELDS = ["arn", *(name for name in aws.AlarmRecord.__dataclass_fields__ if name in AWS_FIELDS)]


@dataclass
class ExistingAlarm:
    digest: str
    deleted: bool
    actions_disabled_since: datetime | None = None


def account_access(account: AwsAccount) -> aws.AccountAccess:
    return aws.AccountAccess(account.account_id, account.role_arn, account.external_id)


def sync_run_claim(
    *, account: AwsAccount, region: str, triggered_by: str, kind: str = SyncKind.ALARMS
) -> SyncRun | None:
    """Start a run for the key, or return None if another run of the key is in progress.

    A run left 'running' by a lost worker stops blocking its key once it is older than the hard limit.
    """
    # A label, not a key: cut to the column rather than let a long user name fail the run (DataError).
    triggered_by = triggered_by[: SyncRun._meta.get_field("triggered_by").max_length]
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.OKAMI_SYNC_STALE_AFTER_SECONDS)
    SyncRun.objects.filter(
        account=account, region=region, kind=kind, status=SyncStatus.RUNNING, started_at__lt=stale_before
    ).update(status=SyncStatus.FAILED, finished_at=now, error="abandoned: the worker running it was lost")
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                account=account, region=region, kind=kind, started_at=now, triggered_by=triggered_by
            )
    except IntegrityError:
        logger.info("%s sync of %s/%s already running; skipped", kind, account.account_id, region)
        return None


def _alarm_row(
    record: aws.AlarmRecord, *, account: AwsAccount, region: str, known: ExistingAlarm | None, now: datetime
) -> dict:
    """The catalog row of an AWS alarm, by column; governance columns are left to their defaults on insert
    and never updated."""
    # Muted since the first sync that saw the actions disabled; cleared when they are enabled again.
    muted_since = None if record.actions_enabled else (known and known.actions_disabled_since) or now
    row = {name: getattr(record, name) for name in RECORD_FIELDS}
    row.update(
        account_id=account.pk,
        region=region,
        actions_disabled_since=muted_since,
        stack_name=record.stack_name,
        aws_hash=record.digest,
        first_seen_at=now,
        deleted_at=None,
    )
    return row


def _existing_alarms(account: AwsAccount, region: str) -> dict[str, ExistingAlarm]:
    rows = Alarm.objects.filter(account=account, region=region).values_list(
        "arn", "aws_hash", "deleted_at", "actions_disabled_since"
    )
    return {arn: ExistingAlarm(digest, deleted is not None, muted) for arn, digest, deleted, muted in rows}


def alarms_apply_page(
    *, run: SyncRun, records: list[aws.AlarmRecord], existing: dict[str, ExistingAlarm], seen: set[str]
) -> None:
    """Upsert the new and changed alarms of one page in one statement; count the rest as unchanged."""
    to_write: list[dict] = []
    now = timezone.now()
    for record in records:
        if record.arn in seen:  # AWS may repeat an item across pages while alarms change under it
            continue
        seen.add(record.arn)
        known = existing.get(record.arn)
        if known is None:
            run.created += 1
        elif known.digest == record.digest and not known.deleted:
            run.unchanged += 1
            continue
        else:
            run.updated += 1
        to_write.append(_alarm_row(record, account=run.account, region=run.region, known=known, now=now))
    upsert_rows(Alarm, to_write, unique_field="arn", update_fields=UPSERT_FIELDS)


def alarms_mark_deleted(*, run: SyncRun, existing: dict[str, ExistingAlarm], seen: set[str]) -> None:
    gone = [arn for arn, known in existing.items() if not known.deleted and arn not in seen]
    for start in range(0, len(gone), 500):
        batch = gone[start : start + 500]
        run.deleted += Alarm.objects.filter(arn__in=batch, deleted_at__isnull=True).update(deleted_at=timezone.now())


def sync_alarms(*, account: AwsAccount, region: str, triggered_by: str = "manual") -> SyncRun | None:
    """Sync every alarm of one (account, region). Returns the finished run, or None if one was running.

    Errors end the run as failed with the error recorded; they never escape, so that one broken account
    or region does not stop the others.
    """
    run = sync_run_claim(account=account, region=region, triggered_by=triggered_by)
    if run is None:
        return None
    started = time.monotonic()
    counter = aws.CallCounter()
    try:
        access = account_access(account)
        tags = aws.alarm_tags(aws.client("resourcegroupstaggingapi", access=access, region=region), counter)
        cloudwatch = aws.client("cloudwatch", access=access, region=region)
        existing = _existing_alarms(account, region)
        seen: set[str] = set()
        for records in aws.describe_alarm_pages(cloudwatch, counter, tags):
            with transaction.atomic():
                without_commit_wait()
                alarms_apply_page(run=run, records=records, existing=existing, seen=seen)
        with transaction.atomic():
            alarms_mark_deleted(run=run, existing=existing, seen=seen)
        run.status = SyncStatus.SUCCEEDED
    except Exception as exc:  # recorded on the run; the next key still syncs
        logger.exception("sync of %s/%s failed", account.account_id, region)
        run.status = SyncStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:4000]
    return sync_run_finish(run=run, started=started, counter=counter)


def sync_run_finish(*, run: SyncRun, started: float, counter: aws.CallCounter) -> SyncRun:
    """Record the outcome, counts and timing of a run (its status and error are already set)."""
    run.api_calls = counter.calls
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.save(
        update_fields=[
            "status",
            "error",
            "created",
            "updated",
            "unchanged",
            "deleted",
            "api_calls",
            "finished_at",
            "duration_ms",
        ]
    )
    return run


def sync_targets(*, account_id: str | None = None, region: str | None = None) -> list[tuple[AwsAccount, str]]:
    """The (account, region) keys to sync, optionally narrowed to one account and/or region."""
    accounts = AwsAccount.objects.filter(enabled=True)
    if account_id:
        accounts = accounts.filter(account_id=account_id)
    return [
        (account, account_region)
        for account in accounts
        for account_region in account.regions
        if not region or account_region == region
    ]
