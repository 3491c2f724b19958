"""`make run` writes an administrator with a printed password: it must never do so on a configured database.
Its start-up, up to the servers, discovers the demo estate and does an administrator's first hour."""

import functools
import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from alarms.models import HAS_PURPOSE, Alarm, AuditEntry, AwsAccount, MappingRule, Service, Team
from portal.demo.estate import SERVICES, TEAMS, build_demo_estate
from portal.management.commands import run_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch_spy(monkeypatch):
    """Records the migrate the demo would run, and stops it before it starts servers if it got that far."""
    migrations = []
    monkeypatch.setattr(run_demo, "call_command", lambda *args, **kwargs: migrations.append(args))

    def no_servers(*args, **kwargs):
        raise AssertionError("the demo went on to start its local AWS")

    monkeypatch.setattr(run_demo, "start_local_aws", no_servers)
    return migrations


def assert_nothing_written(migrations):
    assert migrations == []
    assert not get_user_model().objects.exists()
    assert not Team.objects.exists()
    assert not AwsAccount.objects.exists()


def test_refuses_when_database_url_is_set_and_writes_nothing(settings, launch_spy):
    settings.DATABASE_URL = "postgres://okami:s3cret-pass@db.example.com:5432/okami"

    with pytest.raises(CommandError, match="DATABASE_URL is set") as refused:
        call_command("run_demo")

    assert "administrator" in str(refused.value)
    assert "s3cret-pass" not in str(refused.value)
    assert_nothing_written(launch_spy)


def test_refuses_a_database_that_is_not_its_own_sqlite_file(settings, launch_spy):
    # The suite's own database (a test SQLite file, or PostgreSQL in CI) is not the demo's embedded file.
    settings.DATABASE_URL = ""

    with pytest.raises(CommandError, match=r"not .*okami\.sqlite3"):
        call_command("run_demo")

    assert_nothing_written(launch_spy)


def test_runs_only_on_its_embedded_database_and_broker():
    embedded = django_settings.EMBEDDED_DATABASE
    own = {"ENGINE": "django.db.backends.sqlite3", "NAME": embedded}
    refusal = run_demo.demo_refusal

    assert refusal(database_url="", broker_url="filesystem://", database=own, embedded_database=embedded) == ""
    assert "CELERY_BROKER_URL" in refusal(
        database_url="", broker_url="redis://redis.example.com:6379/0", database=own, embedded_database=embedded
    )
    other_file = {**own, "NAME": embedded.with_name("elsewhere.sqlite3")}
    assert refusal(database_url="", broker_url="filesystem://", database=other_file, embedded_database=embedded)


class ServersWouldStart(Exception):
    pass


def test_start_up_discovers_the_estate_then_does_the_first_hour_before_the_servers(local_aws, monkeypatch):
    """The launch path of `make run` (its refusal aside: this is the suite's database), stopped where it
    would start the web server and Celery. Migrate is the test database's own, with the default rules."""
    MappingRule.objects.all().delete()
    importlib.import_module("alarms.migrations.0009_default_tag_rules").create(django_apps, None)
    monkeypatch.setattr(run_demo, "call_command", lambda *args, **kwargs: None)
    shared = SimpleNamespace(endpoint_url=local_aws.endpoint_url, environ=local_aws.environ, stop=lambda: None)
    monkeypatch.setattr(run_demo, "start_local_aws", lambda port: shared)
    monkeypatch.setattr(run_demo, "build_demo_estate", functools.partial(build_demo_estate, scale=0.1))
    out = io.StringIO()
    command = run_demo.Command(stdout=out)

    def no_servers(*args, **kwargs):
        raise ServersWouldStart

    monkeypatch.setattr(command, "start_children", no_servers)

    with pytest.raises(ServersWouldStart):
        command.launch("127.0.0.1", 8000, 5055)

    printed = out.getvalue()
    assert f"discovered from the tags: {len(SERVICES) + 1} services, {len(TEAMS)} teams" in printed
    assert "merged the duplicate spelling notification-service → notifications" in printed
    assert "suggested purposes accepted" in printed
    assert Service.objects.count() == len(SERVICES)
    assert all(obj.discovered for obj in [*Service.objects.all(), *Team.objects.all()])
    assert Team.objects.get(slug="fulfilment").chat_channel == "#fulfilment-alerts"
    assert set(get_user_model().objects.get(username="editor").teams.values_list("slug", flat=True)) == {
        "payments",
        "storefront",
    }
    assert Alarm.objects.filter(HAS_PURPOSE).exists()
    assert AuditEntry.objects.filter(actor_name="admin").exists()
