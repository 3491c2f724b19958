"""Inbound messages: stored raw and durably first, then turned into state changes.

``inbound_store`` is all a webhook does before answering: one INSERT, deduplicated by the database on
(source, message id), committed. After the commit it wakes the sweeper (``inbound_sweep``, a Celery task),
at most one wake queued at a time: a burst of 800 messages a second costs about one task a second, not 800,
and the sweep processes whatever is pending in batches. The wake flag is cleared before the sweep's last
look, and a message checks the flag only after its commit, so a message is either seen by that last look or
queues the next wake. A message stored while the broker was down stays pending until the beat's sweep.
Processing is idempotent: a state change is stored once, a second delivery only adds its source.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from alarms.choices import AlarmType
from alarms.models import Alarm, AwsAccount
from incidents.ingest.cloudwatch_message import (
    AlarmConfigurationReport,
    AlarmStateReport,
    alarm_report_from_event,
    alarm_report_from_sns,
)
from incidents.models import InboundMessage, InboundSource, InboundStatus
from incidents.services.episodes import state_change_record

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
MAX_ATTEMPTS = 5
RETRY_SECONDS = 30  # then 60, 120, 240
WAKE_KEY = "okami:inbound:sweep-queued"
# The flag expires by itself: a lost sweep task, or a cache each process keeps to itself (the embedded
# defaults), delays the next wake by this much at most; beat sweeps meanwhile.
WAKE_SECONDS = 1


def inbound_store(*, source: str, message_id: str, kind: str, topic_arn: str, body: str) -> tuple[int, bool]:
    """Store a verified message durably, once; returns its id and whether it was new, and wakes the sweep
    after the commit. One statement: the database settles duplicates (``ON CONFLICT DO NOTHING``)."""
    message_id = message_id[:200]
    pk = _insert(source, message_id, kind[:64], topic_arn[:300], body, timezone.now())
    if pk is None:
        return InboundMessage.objects.filter(source=source, message_id=message_id).values_list(
            "pk", flat=True
        ).get(), False
    transaction.on_commit(_wake_sweeper)
    return pk, True


def _insert(source, message_id, kind, topic_arn, body, received_at) -> int | None:
    """The new row's id, or None when (source, message id) is stored already."""
    quote = connection.ops.quote_name
    columns = ["source", "message_id", "kind", "topic_arn", "body", "received_at", "status", "error", "attempts"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(InboundMessage._meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '', 0) ON CONFLICT (source, message_id) DO NOTHING RETURNING id",
            [source, message_id, kind, topic_arn, body, received_at, InboundStatus.PENDING],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class _WakeFlag:
    """The "a sweep is queued" flag: in Redis through one client per process when REDIS_URL is set (the
    cache's client costs a new client object per call, most of a webhook's time spent in Redis), else in
    the cache."""

    def __init__(self) -> None:
        self._redis = None
        self._lock = threading.Lock()

    def _client(self):
        if not settings.REDIS_URL:
            return None
        with self._lock:
            if self._redis is None:
                import redis

                self._redis = redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_SOCKET_OPTIONS)
            return self._redis

    def raise_(self) -> bool:
        """True if this call raised it (no sweep was queued)."""
        client = self._client()
        if client is None:
            return cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)
        return bool(client.set(cache.make_key(WAKE_KEY), 1, nx=True, ex=WAKE_SECONDS))

    def lower(self) -> None:
        client = self._client()
        if client is None:
            cache.delete(WAKE_KEY)
        else:
            client.delete(cache.make_key(WAKE_KEY))


wake_flag = _WakeFlag()


def _wake_sweeper() -> None:
    """Queue a sweep unless one is queued already."""
    from incidents.tasks import inbound_sweep_task

    try:
        if not wake_flag.raise_():
            return
        inbound_sweep_task.delay()
    except Exception:  # the message is stored (and answered 2xx): the beat's sweep will process it
        with suppress(Exception):
            wake_flag.lower()
        logger.warning("could not queue the inbound sweep; the beat's sweep will run it", exc_info=True)


def inbound_sweep() -> int:
    """Process everything pending, then clear the wake flag and look once more; returns how many."""
    done = 0
    while batch := inbound_process_pending():
        done += batch
    wake_flag.lower()
    return done + inbound_process_pending()


def inbound_process(*, message_pk: int) -> str:
    """Turn one stored message into what it reports; returns its status. Safe to run twice."""
    message = InboundMessage.objects.filter(pk=message_pk).first()
    if message is None or message.status != InboundStatus.PENDING:
        return message.status if message else "missing"
    try:
        report = _report(message)
        if isinstance(report, AlarmStateReport):
            alarm = alarm_for_report(report)
            state_change_record(alarm_id=alarm.pk, report=report, source=f"{message.source}:{message.message_id}")
            status = InboundStatus.PROCESSED
        elif isinstance(report, AlarmConfigurationReport):
            _refresh_key(report.account_id, report.region)
            status = InboundStatus.PROCESSED
        else:
            status = InboundStatus.IGNORED
        error = ""
    except Exception as exc:  # recorded; tried again later, then left for a person to look at
        logger.exception("inbound message %s failed (attempt %d)", message_pk, message.attempts + 1)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts + 1 < MAX_ATTEMPTS:
            retry_after = timezone.now() + timedelta(seconds=RETRY_SECONDS * 2**message.attempts)
            InboundMessage.objects.filter(pk=message_pk, status=InboundStatus.PENDING).update(
                error=error, attempts=F("attempts") + 1, retry_after=retry_after
            )
            return InboundStatus.PENDING
        status = InboundStatus.FAILED
    InboundMessage.objects.filter(pk=message_pk, status=InboundStatus.PENDING).update(
        status=status, processed_at=timezone.now(), error=error, attempts=F("attempts") + 1
    )
    return status


def inbound_process_pending(*, limit: int = SWEEP_BATCH) -> int:
    """Process the oldest pending messages (those whose task never ran); returns how many."""
    due = Q(retry_after__isnull=True) | Q(retry_after__lte=timezone.now())
    pending = list(
        InboundMessage.objects.filter(due, status=InboundStatus.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pending:
        inbound_process(message_pk=pk)
    return len(pending)


def _report(message: InboundMessage):
    body = json.loads(message.body)
    if message.source == InboundSource.SNS:
        return alarm_report_from_sns(body.get("Message")) if message.kind == "Notification" else None
    return alarm_report_from_event(body)


def alarm_for_report(report: AlarmStateReport) -> Alarm:
    """The catalog's alarm for a report, or a placeholder made from it (the next sync of its key fills it in);
    an account not registered yet gets a placeholder too, listed as unknown, never synced."""
    alarm = Alarm.objects.filter(arn=report.arn).first()
    if alarm is not None:
        return alarm
    account, _ = AwsAccount.objects.get_or_create(
        account_id=report.account_id,
        defaults={
            "name": f"unknown {report.account_id}",
            "regions": [report.region],
            "enabled": False,
            "registered": False,
        },
    )
    with transaction.atomic():
        alarm, created = Alarm.objects.get_or_create(
            arn=report.arn,
            defaults={
                "account": account,
                "region": report.region,
                "name": report.name,
                "alarm_type": AlarmType.COMPOSITE if report.composite else AlarmType.METRIC,
                "description": report.description,
                "namespace": report.namespace,
                "metric_name": report.metric_name,
                "dimensions": report.dimensions,
                "state": report.new_state,
                "state_reason": report.reason,
                "state_transitioned_at": report.at,
            },
        )
    if created and account.registered and account.enabled:
        _refresh_key(report.account_id, report.region)
    return alarm


def _refresh_key(account_id: str, region: str) -> None:
    """Queue a refresh of a registered account's region after the commit (a new or reconfigured alarm)."""
    from alarms.tasks import sync_account_region

    account = AwsAccount.objects.filter(account_id=account_id, registered=True, enabled=True).first()
    if account is None or region not in account.regions:
        return

    def queue() -> None:
        try:
            sync_account_region.delay(account.pk, region, "alert")
        except Exception:
            logger.warning("could not queue a refresh of %s/%s", account_id, region, exc_info=True)

    transaction.on_commit(queue)
