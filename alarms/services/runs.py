"""The life of a SyncRun, shared by every run kind: claimed as the key's lock, failed with an error for
administrators and a summary for everyone, finished even when the database dropped the connection."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncKind, SyncStatus
from alarms.models import AwsAccount, SyncRun
from portal.db import without_commit_wait

logger = logging.getLogger(__name__)


class AwsTurn:
    """What a sync tells whoever paces the keys' AWS calls (catalog_refresh_all): ``take`` before its first
    AWS call, which may wait for another key; ``done`` once its last AWS answer has arrived, before it writes.
    This one paces nothing: a sync on its own."""

    def take(self) -> None:
        pass

    def done(self) -> None:
        pass


ON_ITS_OWN = AwsTurn()

FINISH_FIELDS = [
    "status",
    "error",
    "error_summary",
    "created",
    "updated",
    "unchanged",
    "deleted",
    "held_deletions",
    "api_calls",
    "finished_at",
    "duration_ms",
]


def account_access(account: AwsAccount) -> aws.AccountAccess:
    return aws.AccountAccess(account.account_id, account.role_arn, account.external_id)


def sync_run_claim(
    *, account: AwsAccount, region: str, triggered_by: str, kind: str = SyncKind.ALARMS
) -> SyncRun | None:
    """Start a run for the key, or return None if another run of the key is in progress.

    A run left 'running' by a lost worker (or one whose finish could not be saved) stops blocking its key
    once it is older than the hard limit.
    """
    # A label, not a key: cut to the column rather than let a long user name fail the run (DataError).
    triggered_by = triggered_by[: SyncRun._meta.get_field("triggered_by").max_length]
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.OKAMI_SYNC_STALE_AFTER_SECONDS)
    SyncRun.objects.filter(
        account=account, region=region, kind=kind, status=SyncStatus.RUNNING, started_at__lt=stale_before
    ).update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error="abandoned: the worker running it was lost",
        error_summary="interrupted",
    )
    try:
        with transaction.atomic():
            without_commit_wait()  # a claim lost in a crash went with the worker holding it
            return SyncRun.objects.create(
                account=account, region=region, kind=kind, started_at=now, triggered_by=triggered_by
            )
    except IntegrityError:
        logger.info("%s sync of %s/%s already running; skipped", kind, account.account_id, region)
        return None


def sync_run_fail(*, run: SyncRun, exc: BaseException) -> None:
    """Mark the run failed: the whole error for administrators, a generic summary for everyone."""
    logger.error("%s sync of %s/%s failed", run.kind, run.account.account_id, run.region, exc_info=exc)
    run.status = SyncStatus.FAILED
    run.error = f"{type(exc).__name__}: {exc}"[:4000]
    run.error_summary = aws.error_summary(exc)


def _reconnect() -> None:
    """Drop the connection the runs are written through; Django opens a fresh one on the next query."""
    connection = connections[router.db_for_write(SyncRun)]
    try:
        connection.close()
    except DatabaseError:
        logger.warning("closing the broken database connection failed", exc_info=True)


def sync_run_finish(*, run: SyncRun, started: float, counter: aws.CallCounter) -> SyncRun:
    """Record the outcome, counts and timing of a run (its status and error are already set).

    If the database connection went away during the run, the save is retried once on a fresh connection;
    a run that still cannot be saved stays 'running' until the stale-run rule of ``sync_run_claim``
    fails it, so its key is never blocked for good.
    """
    run.api_calls = counter.calls
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                # Not worth a wait for the disk: a finish lost in a crash is failed by the stale-run rule.
                without_commit_wait()
                run.save(update_fields=FINISH_FIELDS)
            return run
        except DatabaseError:
            if attempt == 2:
                logger.exception("could not record the end of sync run %s; left to the stale-run rule", run.pk)
                return run
            logger.warning("recording the end of sync run %s failed; retrying on a fresh connection", run.pk)
            _reconnect()
    return run


# ``aws_hash`` of a row missing from AWS whose deletion waits for a confirming run. No digest equals it, so
# a row that comes back is rewritten whole.
HELD = "held-deletion"
BATCH = 500


def vanished_mark_deleted(*, run: SyncRun, model, live: dict[str, str], seen: set[str], noun: str) -> None:
    """Mark the live rows (``live``: ARN to stored digest) AWS no longer lists as deleted.

    When more than OKAMI_SYNC_MAX_DELETE_SHARE of them vanish at once (an account emptied by mistake, a
    listing cut short), nothing is deleted: they are held (see HELD), the run says so, and the next run
    deletes those still missing. Rows a previous run held and that are still missing are deleted now."""
    confirmed = [arn for arn, digest in live.items() if arn not in seen and digest == HELD]
    gone = [arn for arn, digest in live.items() if arn not in seen and digest != HELD]
    exempt = len(live) < settings.OKAMI_SYNC_HOLD_MIN_ALARMS
    if gone and not exempt and len(gone) > settings.OKAMI_SYNC_MAX_DELETE_SHARE * len(live):
        for start in range(0, len(gone), BATCH):
            model.objects.filter(arn__in=gone[start : start + BATCH]).update(aws_hash=HELD)
        run.held_deletions += len(gone)
        run.error_summary = (
            f"{len(gone)} of {len(live)} {noun} vanished from AWS at once; their deletion is held until the "
            "next sync confirms they are gone"
        )
        logger.warning("%s/%s: %s", run.account.account_id, run.region, run.error_summary)
        gone = []
    doomed = confirmed + gone
    for start in range(0, len(doomed), BATCH):
        batch = doomed[start : start + BATCH]
        run.deleted += model.objects.filter(arn__in=batch, deleted_at__isnull=True).update(deleted_at=timezone.now())
