"""Start-up in production mode: required servers, deploy checks, timeouts. Each case starts a fresh process,
since settings are read once per process."""

import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

# What make test/run/bench set, and what production sets: each test starts from neither.
LOCAL_AND_SERVER_VARIABLES = (
    "DJANGO_DEBUG",
    "OKAMI_EMBEDDED",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "OKAMI_PROCESS_ROLE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests for their own process
)
SERVERS = {
    "DATABASE_URL": "postgres://okami:password@db.example.com:5432/okami",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "REDIS_URL": "redis://redis.example.com:6379/1",
}


def start(code: str, **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in LOCAL_AND_SERVER_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_SECRET_KEY="x" * 60, **variables)
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )


SETUP = "import django; django.setup(); from django.conf import settings; "


def test_production_refuses_to_start_without_database_broker_and_cache():
    started = start(SETUP + "print(settings.DATABASES['default']['ENGINE'])")

    assert started.returncode != 0
    last_line = started.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: Missing DATABASE_URL")
    assert "CELERY_BROKER_URL" in last_line
    assert "REDIS_URL" in last_line


@pytest.mark.parametrize("local", [{"DJANGO_DEBUG": "1"}, {"OKAMI_EMBEDDED": "1"}])
def test_debug_and_local_targets_fall_back_to_the_embedded_defaults(local):
    started = start(SETUP + "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)", **local)

    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_api_rates_come_from_the_environment_and_a_malformed_one_stops_start_up():
    rates = SETUP + "from rest_framework.throttling import UserRateThrottle as T; print(T().get_rate())"

    assert start(rates, OKAMI_EMBEDDED="1").stdout.strip() == "600/min"
    assert start(rates, OKAMI_EMBEDDED="1", OKAMI_API_USER_RATE="50/s").stdout.strip() == "50/s"
    malformed = start(rates, OKAMI_EMBEDDED="1", OKAMI_API_USER_RATE="lots")
    assert malformed.returncode != 0
    assert "OKAMI_API_USER_RATE must be a rate such as 600/min" in malformed.stderr


def test_deploy_check_passes_with_the_documented_production_settings():
    env = {key: value for key, value in os.environ.items() if key not in LOCAL_AND_SERVER_VARIABLES}
    env.update(
        SERVERS,
        DJANGO_SECRET_KEY="a-long-random-production-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS="okami.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://okami.example.com",
        DJANGO_BEHIND_PROXY="1",
    )
    manage = str(settings.BASE_DIR / "manage.py")
    checked = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, manage, "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_unreachable_database_broker_and_cache_fail_fast_instead_of_hanging():
    # A server that accepts connections and never answers: without timeouts every call below waits forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        started = start(
            SETUP
            + """
import time
from django.core.cache import cache
from django.db import connection
from portal.celery import app
for name, call in [
    ("database", connection.ensure_connection),
    ("cache", lambda: cache.get("x")),
    ("broker", lambda: app.connection_for_write().ensure_connection(max_retries=1)),
]:
    began = time.monotonic()
    try:
        call()
    except Exception as exc:
        print(name, "failed after", round(time.monotonic() - began))
    else:
        print(name, "answered")
""",
            DATABASE_URL=f"postgres://okami@127.0.0.1:{port}/okami",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0",
            REDIS_URL=f"redis://127.0.0.1:{port}/1",
            OKAMI_DB_CONNECT_TIMEOUT="1",
            OKAMI_REDIS_CONNECT_TIMEOUT="1",
            OKAMI_REDIS_SOCKET_TIMEOUT="1",
        )

    assert started.returncode == 0, started.stderr
    outcomes = {line.split()[0]: line.split()[1:] for line in started.stdout.splitlines()}
    assert set(outcomes) == {"database", "cache", "broker"}
    for name, (verb, _, seconds) in outcomes.items():
        assert verb == "failed", name
        assert int(seconds) <= 20, name


@pytest.mark.django_db
def test_web_requests_get_a_statement_timeout_and_workers_do_not():
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")
    # The suite's own test database, reached the way a deployed process reaches it.
    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))
    show = (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SHOW statement_timeout')\n"
        "    print(cursor.fetchone()[0])\n"
    )
    servers = {**SERVERS, "DATABASE_URL": database_url, "OKAMI_WEB_STATEMENT_TIMEOUT_MS": "2500"}

    web = start("import portal.wsgi\n" + show, **servers)
    worker = start("import django\ndjango.setup()\n" + show, **servers)

    assert web.returncode == 0, web.stderr
    assert worker.returncode == 0, worker.stderr
    assert web.stdout.strip() == "2500ms"
    assert worker.stdout.strip() == "0"
