"""Resource inventory: the AWS resources alarms watch, per (account, region), in the SyncRun discipline
of the alarm sync (claimed run as the lock, digest-compared upsert, deletions marked not dropped)."""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncKind, SyncStatus
from alarms.models import AwsAccount, Resource, SyncRun
from alarms.services.runs import (
    ON_ITS_OWN,
    AwsTurn,
    account_access,
    sync_run_claim,
    sync_run_fail,
    sync_run_finish,
    vanished_mark_deleted,
)
from portal.db import upsert_rows

logger = logging.getLogger(__name__)

UPSERT_FIELDS = ["account", "region", "kind", "name", "tags", "attributes", "aws_hash", "deleted_at"]


def _resource_row(record: aws.ResourceRecord, *, account: AwsAccount, region: str, now) -> dict:
    return {
        "arn": record.arn,
        "account_id": account.pk,
        "region": region,
        "kind": record.kind,
        "name": record.name,
        "tags": record.tags,
        "attributes": record.attributes,
        "aws_hash": record.digest,
        "first_seen_at": now,
        "deleted_at": None,
    }


def resources_apply(*, run: SyncRun, records: list[aws.ResourceRecord]) -> None:
    """Write new and changed resources in one statement; mark the vanished ones deleted (or hold them, as
    for alarms, when too many vanished at once)."""
    existing = {
        arn: (digest, deleted_at is not None)
        for arn, digest, deleted_at in Resource.objects.filter(account=run.account, region=run.region).values_list(
            "arn", "aws_hash", "deleted_at"
        )
    }
    seen, to_write, now = set(), [], timezone.now()
    for record in records:
        if record.arn in seen:
            continue
        seen.add(record.arn)
        known = existing.get(record.arn)
        if known == (record.digest, False):
            run.unchanged += 1
            continue
        if known is None:
            run.created += 1
        else:
            run.updated += 1
        to_write.append(_resource_row(record, account=run.account, region=run.region, now=now))
    upsert_rows(Resource, to_write, unique_field="arn", update_fields=UPSERT_FIELDS)
    live = {arn: digest for arn, (digest, deleted) in existing.items() if not deleted}
    vanished_mark_deleted(run=run, model=Resource, live=live, seen=seen, noun="resources")


def sync_resources(
    *, account: AwsAccount, region: str, triggered_by: str = "manual", turn: AwsTurn = ON_ITS_OWN
) -> SyncRun | None:
    """Inventory one (account, region). Errors fail the run, never the caller; credentials acting in another
    account, or resources of another account or region, fail it before anything is written. The ``turn`` as
    for sync_alarms: taken before the first AWS call, done once everything is listed, before it is written."""
    run = sync_run_claim(account=account, region=region, triggered_by=triggered_by, kind=SyncKind.RESOURCES)
    if run is None:
        return None
    turn.take()
    started = time.monotonic()
    counter = aws.CallCounter()
    try:
        access = account_access(account)
        aws.verify_account(access, region)
        records = aws.inventory(access, region, counter)
        turn.done()
        # ARNs that carry an account and region must carry the key's (S3 and API Gateway ARNs have none).
        aws.verify_arns((r.arn for r in records), account_id=account.account_id, region=region, what="resource")
        with transaction.atomic():
            resources_apply(run=run, records=records)
        run.status = SyncStatus.SUCCEEDED
    except Exception as exc:  # recorded on the run; the next key still syncs
        sync_run_fail(run=run, exc=exc)
    return sync_run_finish(run=run, started=started, counter=counter)
