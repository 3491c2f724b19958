"""Typed readers for environment variables, and the database entry built from them; used by the settings module.

Settings fail fast: a malformed value raises ImproperlyConfigured at start-up, not at first use.
"""

import os
import re

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


TAG_KEY_RE = re.compile(r"^[\w.:/=+@ -]{1,128}$")  # what AWS accepts in a tag key


def env_tag_keys(name: str, default: dict[str, list[str]]) -> dict[str, list[str]]:
    """Tag keys per kind, ``services=service,app;teams=team,owner``; a kind left out keeps its default."""
    raw = env_str(name)
    keys = {kind: list(values) for kind, values in default.items()}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        kind, _, values = part.partition("=")
        kind = kind.strip()
        if kind not in default or not _:
            example = ";".join(f"{k}={','.join(v)}" for k, v in default.items())
            raise ImproperlyConfigured(f"{name} must read like {example}, got {raw!r}")
        listed = [v.strip() for v in values.split(",") if v.strip()]
        bad = [v for v in listed if not TAG_KEY_RE.match(v)]
        if bad:
            raise ImproperlyConfigured(f"{name}: not tag keys: {', '.join(bad)}")
        keys[kind] = listed
    return keys


RATE_RE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A request rate in Django REST framework's notation: ``600/min``, ``10/s``, ``5000/hour``."""
    value = env_str(name) or default
    if not RATE_RE.match(value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 600/min or 10/s, got {value!r}")
    return value


def database_config(url: str, *, connect_timeout: int, statement_timeout_ms: int = 0) -> dict:
    """A DATABASES entry for a DATABASE_URL, with the portal's timeouts on PostgreSQL.

    ``connect_timeout`` bounds how long opening a connection may wait on an unreachable server;
    ``statement_timeout_ms`` (0: none) is sent in the start-up packet, so it costs no extra round trip.
    A value given in the URL's query string (``?connect_timeout=10``) wins.
    """
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", connect_timeout)
        if statement_timeout_ms:
            options["options"] = f"{options.get('options', '')} -c statement_timeout={statement_timeout_ms}".strip()
    return config
