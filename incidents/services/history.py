"""History backfill: the alarm history AWS still has (14 to 30 days), read from a watermark on, merged with what
the webhooks stored. Also an import of older history that teams saved: the AWS CLI's output of
``aws cloudwatch describe-alarm-history`` (one JSON document of ``AlarmHistoryItems``) or JSON lines of items.

State changes are inserted per page in bulk, a change already known (from a webhook) adding nothing; the
alerts of the alarms a page touched are rebuilt around their earliest new change, and only then does the
watermark move past the page (its commit is durable, and PostgreSQL makes the rebuild's commits, made before
it, durable with it): an interrupted run resumes at the first page whose alerts were not rebuilt. A run is a
SyncRun of kind "history": the key's lock and its report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncKind, SyncStatus
from alarms.models import Alarm, AwsAccount, SyncRun
from alarms.services.runs import account_access, sync_run_claim, sync_run_fail, sync_run_finish
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.ingest.history_item import report_from_history_item
from incidents.models import HistoryWatermark, StateChange
from incidents.services.episodes import alarm_alerts_rebuild, alarms_lock
from incidents.services.ingest import alarm_for_report
from portal.db import without_commit_wait

FIRST_RUN_DAYS = 30  # what CloudWatch keeps at most
IMPORT_BATCH = 1000
REBUILD_BATCH = 200


def history_backfill(*, account: AwsAccount, region: str, triggered_by: str = "schedule") -> SyncRun | None:
    """Read the key's alarm history since its watermark; returns the finished run (None if one is running)."""
    run = sync_run_claim(account=account, region=region, triggered_by=triggered_by, kind=SyncKind.HISTORY)
    if run is None:
        return None
    started, counter = time.monotonic(), aws.CallCounter()
    touched: dict[int, datetime] = {}
    try:
        access = account_access(account)
        aws.verify_account(access, region)
        cloudwatch = aws.client("cloudwatch", access=access, region=region)
        mark = HistoryWatermark.objects.filter(account=account, region=region).first()
        start = mark.through if mark else timezone.now() - timedelta(days=FIRST_RUN_DAYS)
        for items in aws.alarm_history_pages(cloudwatch, counter, start=start, end=timezone.now()):
            reports = [
                r
                for r in (report_from_history_item(i, account_id=account.account_id, region=region) for i in items)
                if r
            ]
            run.created += _store(reports, source=f"history:{account.account_id}/{region}", touched=touched)
            run.unchanged += len(items) - len(reports)
            _rebuild(touched)  # before the watermark moves past these changes, never after
            if reports:
                _advance(account, region, max(r.at for r in reports))
        run.status = SyncStatus.SUCCEEDED
    except Exception as exc:  # recorded on the run; the watermark says how far it got
        sync_run_fail(run=run, exc=exc)
    return sync_run_finish(run=run, started=started, counter=counter)


def history_import(*, account: AwsAccount, region: str, lines: Iterable[str]) -> tuple[int, int]:
    """Import history items given as JSON lines; returns (state changes added, lines skipped)."""
    added = skipped = 0
    touched: dict[int, datetime] = {}
    batch: list[AlarmStateReport] = []
    for line in lines:
        try:
            report = report_from_history_item(json.loads(line), account_id=account.account_id, region=region)
        except ValueError:
            report = None
        if report is None:
            skipped += bool(line.strip())
            continue
        batch.append(report)
        if len(batch) >= IMPORT_BATCH:
            added += _store(batch, source="history:import", touched=touched)
            batch = []
    added += _store(batch, source="history:import", touched=touched)
    _rebuild(touched)
    return added, skipped


def _store(reports: list[AlarmStateReport], *, source: str, touched: dict[int, datetime]) -> int:
    """Insert the state changes of ``reports`` not stored yet; returns how many were new."""
    if not reports:
        return 0
    alarms = dict(Alarm.objects.filter(arn__in={r.arn for r in reports}).values_list("arn", "pk"))
    for report in reports:
        if report.arn not in alarms:
            alarms[report.arn] = alarm_for_report(report).pk
    wanted = {(alarms[r.arn], r.at, r.new_state): r for r in reports}
    known = set(
        StateChange.objects.filter(alarm_id__in={k[0] for k in wanted}, at__gte=min(r.at for r in reports))
        .filter(at__lte=max(r.at for r in reports))
        .values_list("alarm_id", "at", "new_state")
    )
    new = {key: report for key, report in wanted.items() if key not in known}
    StateChange.objects.bulk_create(
        [
            StateChange(
                alarm_id=key[0],
                at=r.at,
                old_state=r.old_state,
                new_state=r.new_state,
                reason=r.reason,
                reason_data=r.reason_data,
                sources=[source],
            )
            for key, r in new.items()
        ],
        ignore_conflicts=True,  # a webhook may store the same change meanwhile
    )
    for (alarm_id, at, _), _report in new.items():
        touched[alarm_id] = min(at, touched.get(alarm_id, at))
    return len(new)


def _rebuild(touched: dict[int, datetime]) -> None:
    """Rebuild the alerts of the touched alarms, REBUILD_BATCH alarms a transaction, locked in id order (as
    the webhooks lock one). Their commits do not wait for the disk; the watermark's commit after them does."""
    alarm_ids = sorted(touched)
    for start in range(0, len(alarm_ids), REBUILD_BATCH):
        batch = alarm_ids[start : start + REBUILD_BATCH]
        with transaction.atomic():
            without_commit_wait()
            alarms_lock(batch)
            for alarm_id in batch:
                alarm_alerts_rebuild(alarm_id=alarm_id, around=touched[alarm_id])
    touched.clear()


def _advance(account: AwsAccount, region: str, through: datetime) -> None:
    HistoryWatermark.objects.update_or_create(account=account, region=region, defaults={"through": through})
