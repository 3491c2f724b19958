"""`make run` writes an administrator with a printed password: it must never do so on a configured database."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from alarms.models import AwsAccount, Team
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
