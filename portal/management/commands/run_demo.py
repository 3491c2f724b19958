"""`make run`: the whole portal on one machine with a demo estate.

This process hosts the local AWS (moto server, in-process) and supervises three children: the web server,
a Celery worker and Celery beat, all pointed at the local AWS. Ctrl-C (or any child dying) stops them all.
Once the web server answers, a thread posts ninety days of alarm notifications to its SNS webhook, signed
with a demo certificate the children pin, then a live trickle of them (the worker turns them into alerts).

It creates an administrator with a password printed on the screen, so it runs only on its own embedded
SQLite database and file-system broker, never on a configured (possibly production) one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from alarms.models import Service, Team
from alarms.services.accounts import aws_account_register
from alarms.services.refresh import catalog_refresh
from alarms.services.sync import sync_targets
from portal.demo.aging import demo_age_estate
from portal.demo.alert_traffic import DemoAlertTraffic, topic_arns
from portal.demo.estate import ACCOUNTS, REGIONS, build_demo_estate, demo_accounts
from portal.demo.metrics import demo_put_metrics
from portal.demo.outcomes import demo_label_outcomes
from portal.demo.people import PAGES_ON_EVERYTHING, create_demo_rules, create_demo_users, demo_first_hour
from portal.demo.reviews import demo_open_reviews
from portal.demo.slack_channel import DemoSlack, demo_chat_identities, page_tier_pairs
from portal.demo.sns_signer import SnsSigner
from portal.localaws import free_port, local_aws_environ, start_local_aws

STOP_TIMEOUT_SECONDS = 10


class Command(BaseCommand):
    help = "Run the portal (web, Celery worker and beat) with an embedded local AWS holding a demo estate."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--aws-port", type=int, default=5055, help="Port of the local AWS (moto server).")

    def handle(self, *args, host, port, aws_port, **options):
        refusal = demo_refusal(
            database_url=settings.DATABASE_URL,
            broker_url=settings.CELERY_BROKER_URL,
            database=connections["default"].settings_dict,
            embedded_database=settings.EMBEDDED_DATABASE,
        )
        if refusal:
            raise CommandError(refusal)
        # SIGTERM stops the launcher the way Ctrl-C does, at any step, so the children are always stopped.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            self.launch(host, port, aws_port)
        except KeyboardInterrupt:
            self.say("Stopped.")

    def launch(self, host: str, port: int, aws_port: int) -> None:
        started = time.monotonic()
        self.say("Preparing the database")
        call_command("migrate", interactive=False, verbosity=0)  # with the default tag rules
        create_demo_rules()
        logins = create_demo_users()

        local = start_local_aws(aws_port if _port_free(aws_port) else free_port())
        children: dict[str, subprocess.Popen] = {}
        traffic: DemoAlertTraffic | None = None
        slack: DemoSlack | None = None
        try:
            with local_aws_environ(local):
                self.say(f"Local AWS at {local.endpoint_url}; building the demo estate")
                step = time.monotonic()
                estate = build_demo_estate()
                self.say(
                    f"  {estate.functions} Lambda functions, {estate.tables} DynamoDB tables, {estate.apis} APIs, "
                    f"{estate.queues} SQS queues, {estate.streams} Kinesis streams, {estate.buckets} S3 buckets, "
                    f"{estate.alarms} alarms in {time.monotonic() - step:.1f}s"
                )
                for account in demo_accounts():
                    aws_account_register(**account)
                self.say(
                    "Syncing resources and alarms from the local AWS (the real sync path); the tags name the "
                    "services and teams, the rules assign the alarms"
                )
                step, synced = time.monotonic(), 0
                for account, region in sync_targets():
                    result = catalog_refresh(account=account, region=region, triggered_by="demo")
                    if result.failed or result.alarms is None:
                        raise CommandError(f"sync of {account.account_id}/{region} failed; see the sync runs")
                    run, found = result.alarms, result.resources
                    self.say(
                        f"  {account.account_id} {region}: resources {found.created} new of "
                        f"{found.created + found.updated + found.unchanged}; alarms "
                        f"{run.created} new, {run.updated} changed, {run.unchanged} unchanged, {run.deleted} deleted; "
                        f"{result.links.orphaned} orphaned, {result.reassigned} assigned by rules"
                    )
                    synced += run.created + run.updated + run.unchanged
                self.say(f"  {synced} alarms in the catalog, synced in {time.monotonic() - step:.1f}s")
                self.say(
                    f"  discovered from the tags: {Service.objects.exclude(discovered_from='').count()} services, "
                    f"{Team.objects.exclude(discovered_from='').count()} teams"
                )
                self.first_hour()
            # The local AWS has no alarm history: the demo's history comes through the SNS webhook.
            cert_dir, topics = demo_cert_dir(), demo_topics()
            SnsSigner(cert_dir)  # the demo certificate (made once, kept in the var dir), before the web server pins it
            slack = self.start_slack(host, port)
            env = {
                **os.environ,
                **local.environ,
                "OKAMI_HISTORY_BACKFILL": "0",
                **alert_environ(cert_dir, topics),
                **slack_environ(slack, f"http://{host}:{port}"),
            }
            children = self.start_children(host, port, env)
            self.wait_until_serving(host, port, children)
            traffic = DemoAlertTraffic(
                url=f"http://{host}:{port}/hooks/sns/",
                cert_dir=cert_dir,
                topics=topics,
                say=self.say,
                reminder=f"Okami is running at http://{host}:{port}/   (log in as {logins[0].username} / "
                f"{logins[0].password}; Ctrl-C stops everything)",
                after_history=lambda: self.label_outcomes(local),
                live_pair=lambda pair: bool(page_tier_pairs([pair])),
            )
            traffic.start()
            self.banner(host, port, logins, time.monotonic() - started, slack)
            self.supervise(children)
        finally:
            try:
                if traffic is not None:
                    traffic.stop()  # its open live blips are closed while the web server still answers
            finally:
                _stop(list(children.values()))
                local.stop()
                if slack is not None:
                    slack.stop()

    def first_hour(self) -> None:
        self.say("The administrator's first hour (through the portal's audited services)")
        done = demo_first_hour(get_user_model().objects.get(username="admin"))
        self.say(
            f"  {done.teams_named} teams given their names and chat channels, {done.services_named} services "
            f"their names and descriptions; editor joined {done.memberships} teams"
        )
        for merge in done.merged:
            self.say(f"  merged the duplicate spelling {merge}")
        self.say(
            f"  the careful teams: {done.symptoms} customer-facing API error alarms set to symptom / page, "
            f"{done.internal} internal API alarms to cause / ticket, {done.accepted} suggested purposes accepted; "
            f"{done.pending} suggestions left for the other teams; the team that pages on everything: "
            f"{done.paging_everything} alarms of {PAGES_ON_EVERYTHING} set to page"
        )

    def label_outcomes(self, local) -> None:
        """Once the worker has the history: what the inference and the demo's people said about it, the metric
        data that tells the same story, and this week's reviews over it."""
        step = time.monotonic()
        done = demo_label_outcomes(now=timezone.now())
        self.say(
            f"  outcomes: {done.inferred_transient:,} inferred transient, {done.inferred_duplicate:,} duplicate, "
            f"{done.by_people:,} labelled by people ({done.acknowledged:,} acknowledged); {done.left_in_inbox:,} "
            f"recent alert{'' if done.left_in_inbox == 1 else 's'} left in the inbox; {done.incidents:,} incidents, "
            f"{done.grouped:,} of several alerts, {done.customer_impact:,} with customer impact "
            f"({time.monotonic() - step:.1f}s)"
        )
        with local_aws_environ(local):
            metrics = demo_put_metrics(now=timezone.now())
        self.say(
            f"  metrics: {metrics.datapoints:,} datapoints put for the {metrics.alerts:,} alerts of {metrics.alarms} "
            f"alarms within what CloudWatch keeps at their period; {metrics.percentile} percentile alarms left out "
            f"(the local AWS computes no percentiles), {metrics.left_out} others ({metrics.seconds:.1f}s)"
        )
        step = time.monotonic()
        ages = demo_age_estate(now=timezone.now())
        reviews = demo_open_reviews()
        rules = ", ".join(f"{count} {rule.replace('_', ' ')}" for rule, count in reviews.by_rule.most_common())
        self.say(
            f"  this week's reviews: {reviews.teams} teams, {reviews.items} items ({rules}) over an estate aged by "
            f"its story ({ages.in_alarm} in ALARM for days, {ages.no_data} without data, {ages.muted} muted) "
            f"({time.monotonic() - step:.1f}s)"
        )

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def start_children(self, host: str, port: int, env: dict[str, str]) -> dict[str, subprocess.Popen]:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web server": [python, manage, "runserver", f"{host}:{port}", "--noreload"],
            "Celery worker": [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            "Celery beat": [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        # Each child leads its own process group, so that stopping it also stops what it forked (workers).
        return {
            name: subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603 (fixed argv)
            for name, command in commands.items()
        }

    def wait_until_serving(self, host: str, port: int, children: dict[str, subprocess.Popen]) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_children(children)
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise CommandError(f"the web server did not answer on {host}:{port} within a minute")

    def start_slack(self, host: str, port: int) -> DemoSlack:
        """The demo's Slack: the portal posts page-tier alerts to it; its page's buttons click back."""
        slack = DemoSlack(
            token=DEMO_SLACK_TOKEN,
            signing_secret=DEMO_SLACK_SECRET,
            actions_url=f"http://{host}:{port}/hooks/slack/actions/",
            host=host,
            port=port + 1 if _port_free(port + 1) else 0,  # next to the portal when it can be
        ).start()
        self.say(f"Demo Slack at {slack.page_url}; {demo_chat_identities()} demo users linked to Slack users")
        return slack

    def banner(self, host: str, port: int, logins, seconds: float, slack: DemoSlack) -> None:
        lines = [
            "",
            f"Okami is running at http://{host}:{port}/   (ready in {seconds:.0f}s)",
            *(f"  log in as {login.username} / {login.password}   ({login.role})" for login in logins),
            "  API docs: /api/docs/   Celery worker and beat are running; Ctrl-C stops everything.",
            "  Alerts: 90 days of alarm history are being posted to the SNS webhook (a line follows when they are",
            "  in), then a live blip every 20-60 s, now and then a Lambda/API pair that pages.",
            f"  Chat: page-tier alerts post to the demo Slack at {slack.page_url} (its buttons record outcomes);",
            "  ticket-tier ones go into each team's daily digest.",
            "",
        ]
        self.say("\n".join(lines))

    def supervise(self, children: dict[str, subprocess.Popen]) -> None:
        """Wait for Ctrl-C or SIGTERM (KeyboardInterrupt, see handle); a child that exits stops everything."""
        while True:
            self.check_children(children)
            time.sleep(0.5)

    def check_children(self, children: dict[str, subprocess.Popen]) -> None:
        for name, child in children.items():
            if child.poll() is not None:
                raise CommandError(f"the {name} exited (code {child.returncode}); stopping everything")


def demo_refusal(*, database_url: str, broker_url: str, database: dict, embedded_database: Path) -> str:
    """Why the demo must not run against this configuration ("" when it may): it writes demo users with known
    passwords, an administrator among them, and its worker would take whatever tasks the broker holds."""
    why = "The demo creates an administrator whose password it prints, so it runs only on its embedded defaults"
    if database_url:
        return f"{why}, and DATABASE_URL is set ({database['ENGINE']} database {database['NAME']}). Unset it."
    if database["ENGINE"] != "django.db.backends.sqlite3" or Path(database["NAME"]) != Path(embedded_database):
        return f"{why}, and the database is {database['NAME']}, not {embedded_database}."
    if not broker_url.startswith("filesystem://"):
        return f"{why}, and CELERY_BROKER_URL is set: its worker would take that broker's tasks. Unset it."
    return ""


DEMO_SLACK_TOKEN = "xoxb-okami-demo"  # noqa: S105 (the demo stand-in's, accepted nowhere else)
DEMO_SLACK_SECRET = "okami-demo-signing-secret"  # noqa: S105 (the demo stand-in signs its clicks with it)


def slack_environ(slack: DemoSlack, base_url: str) -> dict[str, str]:
    """What the children need to post to the demo Slack and believe its clicks."""
    return {
        "SLACK_BOT_TOKEN": DEMO_SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": DEMO_SLACK_SECRET,
        "SLACK_API_URL": slack.url,
        "OKAMI_BASE_URL": base_url,
    }


def demo_cert_dir() -> Path:
    """Where the demo's SNS signing certificate (and its key) live: the demo's own var dir."""
    return Path(settings.VAR_DIR) / "demo" / "sns-certs"


def demo_topics() -> list[str]:
    """The SNS topics the demo's alarm notifications come from: one per account and region of the estate."""
    return topic_arns((account_id, region) for account_id in ACCOUNTS for region in REGIONS)


def alert_environ(cert_dir: Path, topics: list[str]) -> dict[str, str]:
    """What the children need to believe the demo's notifications: the demo certificate pinned, nothing
    downloaded, the demo topics allowed."""
    return {"SNS_CERT_DIR": str(cert_dir), "SNS_CERT_DOWNLOAD": "0", "SNS_ALLOWED_TOPIC_ARNS": ",".join(topics)}


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop(children: list[subprocess.Popen]) -> None:
    # A second Ctrl-C (impatient users, or `timeout` relaying the signal) must not cut the shutdown short
    # and leave children behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if any(child.poll() is None for child in children):
        sys.stdout.write("Stopping…\n")
        sys.stdout.flush()
    # The leader alone gets SIGTERM so that Celery shuts its pool down warmly; the whole group gets
    # SIGKILL only if it has not finished in time.
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
