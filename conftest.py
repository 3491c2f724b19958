"""Fixtures shared by every app's tests: the embedded local AWS (moto server over real HTTP), a clean cache."""

import pytest
from django.core.cache import cache

from alarms import aws
from portal.localaws import local_aws_environ, start_local_aws


@pytest.fixture(scope="session")
def local_aws_server():
    server = start_local_aws()
    yield server
    server.stop()


@pytest.fixture
def local_aws(local_aws_server):
    """A clean local AWS for one test, with this process's boto3 pointed at it."""
    local_aws_server.reset()
    aws.forget_sessions()
    with local_aws_environ(local_aws_server):
        yield local_aws_server
    aws.forget_sessions()


@pytest.fixture(autouse=True)
def clean_cache():
    """API throttles and the failed log-in counts live in the cache: no test inherits another's requests."""
    cache.clear()
    yield


def pytest_configure(config):
    from django.conf import settings

    # Tests render templates without a collectstatic run: plain storage, and WhiteNoise serving from the
    # finders instead of the (absent) STATIC_ROOT.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_AUTOREFRESH = True
    # The local AWS has no alarm history: only the history tests read it (from botocore's Stubber).
    settings.OKAMI_HISTORY_BACKFILL = False
    settings.WHITENOISE_USE_FINDERS = True
