"""Alarm sync: one (account, region) at a time, incremental and idempotent.

Per page of DescribeAlarms the alarms are compared with the catalog by digest; only new or changed
alarms are mapped to records and written, the new ones in one insert, the changed ones in one upsert.
Alarms missing from AWS get ``deleted_at`` (their history stays) and come back if they reappear. The
SyncRun row is both the report and the lock.

A sync cannot harm the catalog by listing the wrong place: the credentials must act in the account
synced (STS GetCallerIdentity) and every alarm ARN must name the key's account and region, else the run
fails before writing. When more than ``OKAMI_SYNC_MAX_DELETE_SHARE`` of a key's live alarms vanish at
once, their deletion is held: the run marks them pending and deletes nothing; the next run deletes those
still missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncStatus
from alarms.models import AWS_FIELDS, Alarm, AwsAccount, SyncRun
from alarms.services.runs import (
    ON_ITS_OWN,
    AwsTurn,
    account_access,
    sync_run_claim,
    sync_run_fail,
    sync_run_finish,
    vanished_mark_deleted,
)
from alarms.services.suggested_purpose import SUGGESTION_FIELDS, suggestion_columns
from portal.db import insert_rows, upsert_rows, without_commit_wait

logger = logging.getLogger(__name__)

UPSERT_FIELDS = [
    *(name for name in AWS_FIELDS if name != "account"),
    "deleted_at",
    "actions_disabled_since",
    *SUGGESTION_FIELDS,
]
# Catalog columns that take an AlarmRecord attribute of the same name.
RECORD_FIELDS = ["arn", *(name for name in aws.AlarmRecord.__dataclass_fields__ if name in AWS_FIELDS)]


@dataclass
class ExistingAlarm:
    digest: str
    deleted: bool
    actions_disabled_since: datetime | None = None


def _alarm_row(
    listed: aws.ListedAlarm, *, account: AwsAccount, region: str, known: ExistingAlarm | None, now: datetime
) -> dict:
    """The catalog row of an AWS alarm, by column; governance columns are left to their defaults on insert
    and never updated."""
    record = listed.record()
    # Muted since the first sync that saw the actions disabled; cleared when they are enabled again.
    muted_since = None if record.actions_enabled else (known and known.actions_disabled_since) or now
    row = {name: getattr(record, name) for name in RECORD_FIELDS}
    row.update(
        account_id=account.pk,
        region=region,
        actions_disabled_since=muted_since,
        stack_name=record.stack_name,
        aws_hash=listed.digest,
        first_seen_at=now,
        deleted_at=None,
        **suggestion_columns(record),
    )
    return row


def _existing_alarms(account: AwsAccount, region: str) -> dict[str, ExistingAlarm]:
    rows = Alarm.objects.filter(account=account, region=region).values_list(
        "arn", "aws_hash", "deleted_at", "actions_disabled_since"
    )
    return {arn: ExistingAlarm(digest, deleted is not None, muted) for arn, digest, deleted, muted in rows}


def alarms_apply_page(
    *, run: SyncRun, listed: list[aws.ListedAlarm], existing: dict[str, ExistingAlarm], seen: set[str]
) -> None:
    """Insert the new alarms of one page and upsert the changed ones, a statement each; count the rest as
    unchanged."""
    new: list[dict] = []
    changed: list[dict] = []
    now = timezone.now()
    for alarm in listed:
        if alarm.arn in seen:  # AWS may repeat an item across pages while alarms change under it
            continue
        seen.add(alarm.arn)
        known = existing.get(alarm.arn)
        if known is None:
            run.created += 1
        elif known.digest == alarm.digest and not known.deleted:
            run.unchanged += 1
            continue
        else:
            run.updated += 1
        (changed if known else new).append(
            _alarm_row(alarm, account=run.account, region=run.region, known=known, now=now)
        )
    if not (new or changed):  # an unchanged page costs no statement at all
        return
    with transaction.atomic():
        without_commit_wait()
        _insert_new(new)
        upsert_rows(Alarm, changed, unique_field="arn", update_fields=UPSERT_FIELDS)


def _insert_new(rows: list[dict]) -> None:
    """Alarms the catalog did not have when the sync started go in by a plain insert, sparing PostgreSQL the
    upsert's staging table (a temporary table of the alarm's 64 columns per page); one that arrived since (no
    other sync of the key runs, but a row can come back from elsewhere) makes it an upsert instead."""
    if not rows:
        return
    try:
        with transaction.atomic():
            insert_rows(Alarm, rows)
    except IntegrityError:
        upsert_rows(Alarm, rows, unique_field="arn", update_fields=UPSERT_FIELDS)


def alarms_mark_deleted(*, run: SyncRun, existing: dict[str, ExistingAlarm], seen: set[str]) -> None:
    """Mark live alarms AWS no longer has deleted, or hold them when too many vanished at once."""
    live = {arn: known.digest for arn, known in existing.items() if not known.deleted}
    vanished_mark_deleted(run=run, model=Alarm, live=live, seen=seen, noun="alarms")


def sync_alarms(
    *, account: AwsAccount, region: str, triggered_by: str = "manual", turn: AwsTurn = ON_ITS_OWN
) -> SyncRun | None:
    """Sync every alarm of one (account, region). Returns the finished run, or None if one was running.

    Errors end the run as failed with the error recorded; they never escape, so that one broken account
    or region does not stop the others. The ``turn`` is taken once the run is claimed, before the first AWS
    call, and done once the last page of alarms has arrived, before it is written.
    """
    run = sync_run_claim(account=account, region=region, triggered_by=triggered_by)
    if run is None:
        return None
    turn.take()
    started = time.monotonic()
    counter = aws.CallCounter()
    try:
        access = account_access(account)
        aws.verify_account(access, region)
        tags = aws.alarm_tags(aws.client("resourcegroupstaggingapi", access=access, region=region), counter)
        cloudwatch = aws.client("cloudwatch", access=access, region=region)
        existing = _existing_alarms(account, region)
        seen: set[str] = set()
        for listed in aws.describe_alarm_pages(cloudwatch, counter, tags, on_last=turn.done):
            aws.verify_arns((a.arn for a in listed), account_id=account.account_id, region=region, what="alarm")
            alarms_apply_page(run=run, listed=listed, existing=existing, seen=seen)
        with transaction.atomic():
            alarms_mark_deleted(run=run, existing=existing, seen=seen)
        run.status = SyncStatus.SUCCEEDED
    except Exception as exc:  # recorded on the run; the next key still syncs
        sync_run_fail(run=run, exc=exc)
    return sync_run_finish(run=run, started=started, counter=counter)


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
