"""A notification posted to the webhook is processed by a real Celery worker, woken by the webhook, over the
configured broker (the embedded file-system transport locally, Redis in CI)."""

import time
from datetime import UTC, datetime

import pytest
from celery.contrib.testing.worker import start_worker

from incidents.models import Alert
from incidents.tests.test_sns_hook import change, post
from portal.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_posted_notification_becomes_an_alert_in_the_worker_within_seconds(client, signer, account):
    celery_app.control.purge()
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30):
        started = time.monotonic()
        assert post(client, change(signer, "ALARM", "OK", datetime(2026, 11, 30, 9, tzinfo=UTC))).status_code == 200
        while not Alert.objects.exists() and time.monotonic() - started < 20:
            time.sleep(0.05)
        elapsed = time.monotonic() - started

    assert Alert.objects.filter(closed_at__isnull=True).count() == 1
    print(f"\nposted to alert in {elapsed:.2f}s")
    assert elapsed < 5  # with Redis as the broker, well under a second; the file transport polls each second
