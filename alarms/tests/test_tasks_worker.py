"""The beat fan-out and per-key sync tasks, executed by a real Celery worker over the configured broker
(the embedded file-system transport locally, Redis in CI) against the local AWS over HTTP."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from alarms.choices import SyncKind, SyncStatus
from alarms.models import Alarm, MappingRule, RuleRun, SyncRun
from alarms.tasks import sync_all_accounts
from alarms.tests.local_estate import ACCOUNTS, REGIONS, put_alarm, register_accounts
from portal.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def worker():
    celery_app.control.purge()  # messages left by an earlier, interrupted run must not leak in
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30):
        yield


def test_fan_out_syncs_every_account_and_region_in_the_worker(local_aws, worker):
    for account_id in ACCOUNTS:
        for region in REGIONS:
            put_alarm(account_id, region, "orders-placeOrder-Errors", tags={"service": "orders"})
    register_accounts()

    sync_all_accounts.delay("schedule")

    # Each key is one task: its inventory run, its alarm run, then links and rules.
    keys = len(ACCOUNTS) * len(REGIONS)
    done = wait_for(
        lambda: (
            SyncRun.objects.filter(kind=SyncKind.ALARMS, status=SyncStatus.SUCCEEDED).count() == keys
            and SyncRun.objects.filter(kind=SyncKind.RESOURCES).exclude(status=SyncStatus.RUNNING).count() == keys
        )
    )
    assert done, list(SyncRun.objects.values_list("kind", "region", "status", "error"))
    assert set(SyncRun.objects.values_list("triggered_by", flat=True)) == {"schedule"}
    assert Alarm.objects.count() == 4
    assert set(Alarm.objects.values_list("tags__service", flat=True)) == {"orders"}


def test_rules_applied_from_the_web_on_a_large_catalog_are_run_by_the_worker(
    client, editor, catalog, make_alarms, settings, worker
):
    settings.OKAMI_RULES_INLINE_MAX_ALARMS = 2
    make_alarms(catalog["account"], 3, prefix="checkout-prod")
    MappingRule.objects.create(
        position=10, name="checkout", match="name_prefix", pattern="checkout-prod", set_service=catalog["service"]
    )
    client.force_login(editor)

    page = client.post("/rules/apply/", follow=True)

    run = page.context["run"]
    assert wait_for(lambda: RuleRun.objects.get(pk=run.pk).finished)
    assert RuleRun.objects.get(pk=run.pk).reassigned == 3
    assert Alarm.objects.filter(service=catalog["service"]).count() == 3
