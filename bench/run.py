"""Benchmarks of the catalog. Each figure is printed with its ratio to a reference measured in the same run.

    make bench                       # all
    make bench BENCH_ARGS="sync"     # one of the names in BENCHES

See bench/README.md for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("OKAMI_VAR_DIR", str(ROOT / "var" / "bench"))
# The local AWS has no alarm history: `sync_aws` would add a failing DescribeAlarmHistory call per key that
# the references do not make. The ingest bench measures the backfill on its own.
os.environ.setdefault("OKAMI_HISTORY_BACKFILL", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench import (  # noqa: E402
    alert_lists,
    discovery,
    inference,
    ingest,
    lists,
    refresh,
    report_page,
    review_candidates,
    review_page,
    rules,
    sync,
    tuning_nab,
)

BENCHES = [
    "sync", "refresh", "refresh-latency", "refresh-scale", "discovery", "ingest", "lists", "alert-lists",
    "review-page", "rules", "inference", "review-candidates", "report-page", "tuning-nab",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "which",
        nargs="*",
        help=f"benches to run: {', '.join(BENCHES)} (default: all)",
    )
    parser.add_argument("--alarms", type=int, default=5000, help="alarms planted in local AWS for the sync bench")
    parser.add_argument("--discovery-alarms", type=int, default=10000, help="alarms planted (discovery)")
    parser.add_argument("--notifications", type=int, default=6000, help="notifications posted (ingest)")
    parser.add_argument("--storm", type=int, default=5000, help="notifications of the storm (ingest)")
    parser.add_argument("--history-items", type=int, default=100000, help="history items (ingest)")
    parser.add_argument("--catalog", type=int, default=10000, help="alarms in the catalog for the list bench")
    parser.add_argument("--requests", type=int, default=40, help="requests per list for the p95")
    parser.add_argument("--resources", type=int, default=20000, help="resources in the inventory for the rules bench")
    parser.add_argument(
        "--latency-ms", type=float, default=40, help="network latency added to every AWS request (refresh-latency)"
    )
    parser.add_argument("--accounts", type=int, default=50, help="accounts refreshed by the workers (refresh-scale)")
    parser.add_argument("--scale-alarms", type=int, default=20000, help="alarms over those accounts (refresh-scale)")
    parser.add_argument("--alerts", type=int, default=100000, help="alerts behind the alert lists (alert-lists)")
    parser.add_argument("--review-items", type=int, default=500, help="items of the review page (review-page)")
    parser.add_argument("--inference-alerts", type=int, default=100000, help="alerts labelled (inference)")
    parser.add_argument("--review-alarms", type=int, default=5000, help="alarms reviewed (review-candidates)")
    parser.add_argument(
        "--review-changes", type=int, default=1000000, help="state changes of their year (review-candidates)"
    )
    parser.add_argument("--report-alerts", type=int, default=100000, help="alerts of the year (report-page)")
    args = parser.parse_args()
    benches = BENCHES
    which = args.which or benches
    unknown = set(which) - set(benches)
    if unknown:
        parser.error(f"unknown bench: {', '.join(sorted(unknown))}")
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    if "sync" in which:
        sync.bench_sync(args.alarms)
    if "refresh" in which:
        refresh.bench_refresh(args.alarms)
    if "refresh-latency" in which:
        refresh.bench_refresh(args.alarms, latency_ms=args.latency_ms)
    if "refresh-scale" in which:
        refresh.bench_refresh_scale(args.accounts, args.scale_alarms)
    if "discovery" in which:
        discovery.bench_discovery(args.discovery_alarms)
    if "ingest" in which:
        ingest.bench_ingest(args.notifications, args.storm, args.history_items)
    if "lists" in which:
        lists.bench_lists(args.catalog, args.requests)
    if "rules" in which:
        rules.bench_rules(args.catalog, args.resources)
    if "alert-lists" in which:
        alert_lists.bench_alert_lists(args.catalog, args.alerts, args.requests)
    if "review-page" in which:
        review_page.bench_review_page(args.catalog, args.review_items, args.requests)
    if "inference" in which:
        inference.bench_inference(args.inference_alerts)
    if "review-candidates" in which:
        review_candidates.bench_review_candidates(args.review_alarms, args.review_changes)
    if "report-page" in which:
        report_page.bench_report_page(2000, args.report_alerts, args.requests)
    if "tuning-nab" in which:
        tuning_nab.bench_tuning_nab()


if __name__ == "__main__":
    main()
