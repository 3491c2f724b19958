"""Health checks for load balancers and orchestrators; they need no login."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app


@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means not ready
        return f"{type(exc).__name__}"
    return None


def _broker_ok() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any transport error means not ready
        return f"{type(exc).__name__}"
    return None


@never_cache
@require_GET
def readyz(request):
    """The database and the Celery broker are reachable: 200, else 503 naming what is down."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    failing = {name: error for name, error in checks.items() if error}
    body = {"status": "ok" if not failing else "unavailable", "checks": {k: v or "ok" for k, v in checks.items()}}
    return JsonResponse(body, status=503 if failing else 200)
