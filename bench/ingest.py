"""Ingest bench: signed SNS notifications posted to the webhook served by gunicorn (4 workers of 4 threads, as
deployed) on PostgreSQL,
each committed before its 2xx, against raw psycopg single-row durable inserts of the same rows (same
concurrency, same run); a storm of 5,000 from 8 senders counted back exactly once; and a history backfill of
100,000 items against a bulk insert of the same state changes."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
from django.db import connection

from alarms.models import Alarm, AwsAccount
from bench.common import p95
from incidents.models import Alert, InboundMessage, StateChange
from incidents.services.history import history_import
from portal.demo.sns_signer import SnsSigner, alarm_message
from portal.localaws import free_port

TOPIC = "arn:aws:sns:eu-west-1:111111111111:bench-alarms"
SENDERS = 8
ACCOUNT = "111111111111"


def _envelopes(signer: SnsSigner, count: int, *, alarms: int = 200) -> list[bytes]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    bodies = []
    for i in range(count):
        name = f"bench-{i % alarms}-Errors"
        at = start + timedelta(minutes=i)
        state = "ALARM" if (i // alarms) % 2 == 0 else "OK"
        message = alarm_message(
            arn=f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:{name}", name=name, new_state=state,
            old_state="OK" if state == "ALARM" else "ALARM", at=at,
        )  # fmt: skip
        envelope = signer.envelope(topic_arn=TOPIC, message=message, version="1" if i % 2 else "2")
        bodies.append(json.dumps(envelope).encode())
    return bodies


def _start_gunicorn(port: int, environ: dict) -> subprocess.Popen:
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "portal.wsgi",
            "--workers",
            "4",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=environ,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def _post_all(port: int, bodies: list[bytes], senders: int) -> tuple[float, list[float], list[int]]:
    """Post every body, ``senders`` keep-alive connections at a time; (seconds, latencies, statuses)."""
    chunks = [bodies[i::senders] for i in range(senders)]

    def send(chunk: list[bytes]) -> tuple[list[float], list[int]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, statuses = [], []
        for body in chunk:
            for _attempt in range(5):
                started = time.perf_counter()
                try:
                    conn.request("POST", "/hooks/sns/", body, {"Content-Type": "text/plain; charset=UTF-8"})
                    response = conn.getresponse()
                    response.read()
                except (ConnectionError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                latencies.append(time.perf_counter() - started)
                statuses.append(response.status)
                if response.status < 500:
                    break
        conn.close()
        return latencies, statuses

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        results = list(pool.map(send, chunks))
    elapsed = time.perf_counter() - started
    return elapsed, [x for r in results for x in r[0]], [x for r in results for x in r[1]]


def _raw_inserts(dsn: str, bodies: list[bytes], senders: int) -> float:
    """The reference: the same rows, one durable INSERT each (autocommit), ``senders`` connections at a time."""
    table = InboundMessage._meta.db_table
    chunks = [bodies[i::senders] for i in range(senders)]

    def insert(chunk):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for body in chunk:
                envelope = json.loads(body)
                conn.execute(
                    f"INSERT INTO {table} (source, message_id, kind, topic_arn, body, received_at, status, error, "
                    "attempts) VALUES ('bench', %s, %s, %s, %s, now(), 'pending', '', 0) ON CONFLICT DO NOTHING",
                    (envelope["MessageId"], envelope["Type"], envelope["TopicArn"], body.decode()),
                )

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(insert, chunks))
    return time.perf_counter() - started


def _dsn() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None,
    )  # fmt: skip


def bench_ingest(count: int, storm: int, history: int) -> None:
    if connection.vendor != "postgresql":
        print("ingest needs DATABASE_URL (PostgreSQL); skipped")
        return
    InboundMessage.objects.all().delete()
    StateChange.objects.all().delete()
    Alert.objects.all().delete()
    AwsAccount.objects.update_or_create(account_id=ACCOUNT, defaults={"name": "bench", "regions": ["eu-west-1"]})
    with tempfile.TemporaryDirectory() as certs:
        signer = SnsSigner(certs)
        bodies = _envelopes(signer, count + storm)
        environ = {**os.environ, "SNS_CERT_DIR": certs, "SNS_CERT_DOWNLOAD": "0", "SNS_ALLOWED_TOPIC_ARNS": TOPIC,
                   "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
        port = free_port()
        server = _start_gunicorn(port, environ)
        try:
            _post_all(port, bodies[:50], SENDERS)  # warm up: workers, connections, the certificate
            InboundMessage.objects.all().delete()
            subject, latencies, statuses = _post_all(port, bodies[:count], SENDERS)
            stored = InboundMessage.objects.filter(source="sns").count()
            reference = _raw_inserts(_dsn(), bodies[:count], SENDERS)
            InboundMessage.objects.filter(source="bench").delete()
            print(f"sustained ingest through gunicorn (4 workers x 4 threads), {count} signed notifications,")
            print(f"  {SENDERS} senders:")
            rate = f"{count / subject:.0f} notifications/s (target >= 800)"
            print(f"  {rate}, {stored} stored, p95 {p95(latencies) * 1000:.1f} ms")
            raw = f"{count / reference:.0f}/s"
            print(f"  raw psycopg durable single-row inserts of the same rows {raw}  ratio {subject / reference:.2f}")
            storm_bodies = bodies[count : count + storm]
            elapsed, latencies, statuses = _post_all(port, storm_bodies + storm_bodies[:500], SENDERS)
            ids = {json.loads(b)["MessageId"] for b in storm_bodies}
            kept = InboundMessage.objects.filter(message_id__in=ids).count()
            failed = sum(s >= 300 for s in statuses)
            p99 = statistics.quantiles(latencies, n=100)[-1] * 1000
            print(f"storm: {storm} notifications (+500 redelivered) from {SENDERS} senders in {elapsed:.1f}s:")
            print(f"  {kept} stored exactly once (target {storm}), {failed} answers not 2xx, p99 {p99:.1f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)
    _bench_history(history)


def _bench_history(count: int) -> None:
    account = AwsAccount.objects.get(account_id=ACCOUNT)
    StateChange.objects.all().delete()
    Alert.objects.all().delete()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    lines = []
    for i in range(count):
        state = "ALARM" if (i // 500) % 2 == 0 else "OK"
        data = {"newState": {"stateValue": state, "stateReason": "bench"}, "oldState": {"stateValue": "OK"}}
        at = (start + timedelta(minutes=i)).isoformat()
        item = {"AlarmName": f"hist-{i % 500}", "AlarmType": "MetricAlarm", "HistoryItemType": "StateUpdate"}
        lines.append(json.dumps({**item, "Timestamp": at, "HistoryData": json.dumps(data)}))
    started = time.perf_counter()
    added, _ = history_import(account=account, region="eu-west-1", lines=lines)
    subject = time.perf_counter() - started
    alarm_ids = dict(Alarm.objects.filter(name__startswith="hist-").values_list("name", "pk"))
    rows = [(alarm_ids[f"hist-{i % 500}"], start + timedelta(minutes=i) + timedelta(days=3650)) for i in range(count)]
    table = StateChange._meta.db_table
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} (alarm_id, at, old_state, new_state, reason, reason_data, sources, recorded_at) FROM STDIN"
        ) as copy,
    ):
        for alarm_id, at in rows:
            copy.write_row((alarm_id, at, "OK", "ALARM", "bench", "{}", "[]", at))
    reference = time.perf_counter() - started
    print(f"history backfill of {count} items ({added} state changes, alerts rebuilt): {count / subject:.0f} items/s")
    print(f"  bulk COPY of the same rows {count / reference:.0f}/s  ratio {subject / reference:.2f}")
    StateChange.objects.filter(reason="bench").delete()
