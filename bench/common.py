"""What every bench shares: the planted keys, timing helpers and a catalog reset."""

from __future__ import annotations

import statistics
import time

from alarms.models import Alarm, AwsAccount, Resource, SyncRun
from alarms.services.accounts import aws_account_register
from portal.localaws import role_arn

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
REPEATS = 5


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def reset_catalog() -> None:
    SyncRun.objects.all().delete()
    Alarm.objects.all().delete()
    Resource.objects.all().delete()
    AwsAccount.objects.all().delete()


def register_accounts(accounts=ACCOUNTS) -> None:
    """The bench accounts, each reached through its role in the local AWS."""
    for account_id in accounts:
        aws_account_register(
            account_id=account_id,
            name=f"bench-{account_id}",
            regions=list(REGIONS),
            role_arn=role_arn(account_id),
            external_id="bench",
        )


def interleaved(subject, reference, repeats: int = REPEATS, setup=None) -> tuple[float, float]:
    """Median times of subject and reference, run alternately so that machine noise hits both alike.
    ``setup`` runs untimed before each run of the subject."""
    subject_times, reference_times = [], []
    for _ in range(repeats):
        for run, times in ((reference, reference_times), (subject, subject_times)):
            if setup and run is subject:
                setup()
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(subject_times), statistics.median(reference_times)
