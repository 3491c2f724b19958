"""The one settings module. Everything that differs between machines comes from the environment.

Production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, a secret key and the allowed hosts; a missing
one stops the process at start-up. Only `make run`, `make test` and `make bench` (OKAMI_EMBEDDED=1) and
DJANGO_DEBUG=1 may run on the embedded defaults instead: a SQLite file and a file-system Celery transport
under ``var/``, a cache in process memory.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.env import database_config, env_bool, env_int, env_list, env_rate, env_str, env_tag_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OKAMI_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The embedded database, broker and cache stand in for missing servers only on a developer's machine.
EMBEDDED_ALLOWED = DEBUG or env_bool("OKAMI_EMBEDDED", False)
# portal/wsgi.py marks the web server; workers, beat and management commands are not "web".
WEB_PROCESS = os.environ.get("OKAMI_PROCESS_ROLE") == "web"

SERVERS_REQUIRED = {
    "DATABASE_URL": "postgres://okami:password@db.example.com:5432/okami",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "REDIS_URL": "redis://redis.example.com:6379/1",
}
_missing = [f"{name} (e.g. {example})" for name, example in SERVERS_REQUIRED.items() if not env_str(name)]
if _missing and not EMBEDDED_ALLOWED:
    raise ImproperlyConfigured(
        f"Missing {'; '.join(_missing)}. Only `make run`, `make test`, `make bench` (OKAMI_EMBEDDED=1) and "
        "DJANGO_DEBUG=1 fall back to the embedded database, broker and cache under OKAMI_VAR_DIR."
    )

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required unless DJANGO_DEBUG=1")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "alarms",
    "incidents",
    "alarms.review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.WebhookMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "incidents.context_processors.inbox",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# Opening a connection to an unreachable server fails after this many seconds instead of hanging.
OKAMI_DB_CONNECT_TIMEOUT = env_int("OKAMI_DB_CONNECT_TIMEOUT", 5)
# A web request's statement is cancelled after this long (PostgreSQL); workers and migrations are not bound.
OKAMI_WEB_STATEMENT_TIMEOUT_MS = env_int("OKAMI_WEB_STATEMENT_TIMEOUT_MS", 30000)
EMBEDDED_DATABASE = VAR_DIR / "okami.sqlite3"
if DATABASE_URL:
    DATABASES = {
        "default": database_config(
            DATABASE_URL,
            connect_timeout=OKAMI_DB_CONNECT_TIMEOUT,
            statement_timeout_ms=OKAMI_WEB_STATEMENT_TIMEOUT_MS if WEB_PROCESS else 0,
        )
    }
else:
    # web, worker and beat share the file: WAL lets readers run beside one writer, IMMEDIATE takes the
    # write lock up front so that concurrent writers queue (timeout) instead of failing mid-transaction.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": EMBEDDED_DATABASE,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory: integration tests run a real Celery worker and a live server in other
            # threads, and SQLite's shared in-memory cache locks whole tables under that concurrency.
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (and nothing else: sync locks live in the database, see alarms.models.SyncRun) --------
# The cache counts API requests and failed log-ins: a per-process memory cache would multiply every limit
# by the number of processes, so production needs the shared one.
REDIS_URL = env_str("REDIS_URL")
# Every Redis connection (cache and broker) gives up on an unreachable or silent server after these.
REDIS_SOCKET_OPTIONS = {
    "socket_connect_timeout": env_int("OKAMI_REDIS_CONNECT_TIMEOUT", 5),
    "socket_timeout": env_int("OKAMI_REDIS_SOCKET_TIMEOUT", 10),
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_SOCKET_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Paths reachable without a session: health checks, signed webhooks, the login page, static files.
# The API authenticates by itself (token or session) and answers 401, never a redirect.
LOGIN_EXEMPT_PREFIXES = ("/healthz", "/readyz", "/hooks/", "/accounts/login/", "/static/", "/api/")

# Failed log-ins, counted in the cache per user name and per client address: past the limit the login page
# answers 429 without checking the password until the window (counted from the first failure) ends.
OKAMI_LOGIN_FAILURE_LIMIT = env_int("OKAMI_LOGIN_FAILURE_LIMIT", 10)
OKAMI_LOGIN_FAILURE_WINDOW_SECONDS = env_int("OKAMI_LOGIN_FAILURE_WINDOW_SECONDS", 900)

# --- HTTPS ----------------------------------------------------------------------------------------
# Outside debug the portal is served over HTTPS only: plain HTTP is redirected (health checks excepted, so
# that probes over the internal network keep working), browsers are told to remember it (HSTS) and cookies
# never travel in clear. Behind a TLS-terminating proxy, DJANGO_BEHIND_PROXY=1 trusts its X-Forwarded-Proto
# (without it every request looks like plain HTTP and is redirected forever) and DJANGO_PROXY_COUNT says how
# many proxies append to X-Forwarded-For, so that the client address is the one the outermost proxy saw.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
OKAMI_PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 1) if BEHIND_PROXY else 0
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading takes effect only when the domain's owner submits it to the browsers' list.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- I18n / time ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("OKAMI_DISPLAY_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "PAGE_SIZE": 50,
    # Per client address for anonymous requests, per user otherwise; the 429 has the one error shape.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("OKAMI_API_ANON_RATE", "60/min"),
        "user": env_rate("OKAMI_API_USER_RATE", "600/min"),
    },
    "NUM_PROXIES": OKAMI_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Okami API",
    "DESCRIPTION": "CloudWatch alarm governance: catalog, sync, alerts, outcomes and weekly review.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # A field and its suggestion share one choice set, and so one schema name.
    "ENUM_NAME_OVERRIDES": {
        "SignalKindEnum": "alarms.choices.SignalKind",
        "TierEnum": "alarms.choices.Tier",
        "AlarmStateEnum": "alarms.choices.AlarmState",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_broker_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # A read that times out is retried once on a fresh connection before the worker gives up on it.
        CELERY_BROKER_TRANSPORT_OPTIONS.update(REDIS_SOCKET_OPTIONS, retry_on_timeout=True)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_OPTIONS["socket_connect_timeout"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 900)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Okami ----------------------------------------------------------------------------------------
# How often beat fans out one sync task per (account, region).
OKAMI_SYNC_INTERVAL_SECONDS = env_int("OKAMI_SYNC_INTERVAL_SECONDS", 600)
# A running SyncRun older than this is taken to belong to a lost worker and no longer blocks its key.
OKAMI_SYNC_STALE_AFTER_SECONDS = env_int("OKAMI_SYNC_STALE_AFTER_SECONDS", CELERY_TASK_TIME_LIMIT + 60)
# A sync that finds more than this share of a key's live alarms gone holds their deletion until the next
# run confirms it. Keys with fewer live alarms than OKAMI_SYNC_HOLD_MIN_ALARMS may be exempted (none by default).
OKAMI_SYNC_MAX_DELETE_SHARE = float(env_str("OKAMI_SYNC_MAX_DELETE_SHARE") or 0.5)
OKAMI_SYNC_HOLD_MIN_ALARMS = env_int("OKAMI_SYNC_HOLD_MIN_ALARMS", 0)
# Above this many live alarms, applying the rules or previewing a rule from the web runs in a worker (the
# page follows the run) instead of inside the request, which must end well before gunicorn's timeout.
OKAMI_RULES_INLINE_MAX_ALARMS = env_int("OKAMI_RULES_INLINE_MAX_ALARMS", 5000)
# Mapping rules: the longest regular expression accepted, and how long one rules statement may run
# (PostgreSQL; on SQLite each regular-expression match has its own short limit).
OKAMI_RULE_PATTERN_MAX_LENGTH = env_int("OKAMI_RULE_PATTERN_MAX_LENGTH", 300)
OKAMI_RULES_STATEMENT_TIMEOUT_MS = env_int("OKAMI_RULES_STATEMENT_TIMEOUT_MS", 120000)
# Discovery: a sync creates a service or team for each new value of these tag keys (first key first), and
# takes a service from the CloudFormation stack name when no service key names one. Off for catalogs kept
# by hand. The default mapping rules (migration 0009) use the same keys.
OKAMI_DISCOVERY = env_bool("OKAMI_DISCOVERY", True)
OKAMI_DISCOVER_TAG_KEYS = env_tag_keys(
    "OKAMI_DISCOVER_TAG_KEYS", {"services": ["service", "app"], "teams": ["team", "owner"]}
)
OKAMI_DISCOVER_STACK_TAG = env_str("OKAMI_DISCOVER_STACK_TAG", "aws:cloudformation:stack-name")
# Page-level retries on throttling, on top of botocore's own adaptive retries.
OKAMI_AWS_THROTTLE_RETRIES = env_int("OKAMI_AWS_THROTTLE_RETRIES", 5)
OKAMI_AWS_THROTTLE_BACKOFF_SECONDS = float(env_str("OKAMI_AWS_THROTTLE_BACKOFF_SECONDS") or 1.0)
OKAMI_AWS_MAX_ATTEMPTS = env_int("OKAMI_AWS_MAX_ATTEMPTS", 8)

# --- Alerts in ------------------------------------------------------------------------------------
# SNS: only these topics are accepted; certificates are read from SNS_CERT_DIR (by the SigningCertURL's file
# name) before any download, and downloads can be turned off; subscriptions are confirmed by fetching the
# SubscribeURL unless turned off. EventBridge (an API destination) must send Authorization: EVENTBRIDGE_TOKEN.
SNS_ALLOWED_TOPIC_ARNS = env_list("SNS_ALLOWED_TOPIC_ARNS")
SNS_CERT_DIR = env_str("SNS_CERT_DIR")
SNS_CERT_DOWNLOAD = env_bool("SNS_CERT_DOWNLOAD", True)
SNS_CONFIRM_SUBSCRIPTIONS = env_bool("SNS_CONFIRM_SUBSCRIPTIONS", True)
EVENTBRIDGE_TOKEN = env_str("EVENTBRIDGE_TOKEN")
OKAMI_WEBHOOK_MAX_BYTES = env_int("OKAMI_WEBHOOK_MAX_BYTES", 256 * 1024)
# How often beat processes stored messages whose task never ran (broker down when they arrived).
OKAMI_INBOUND_SWEEP_SECONDS = env_int("OKAMI_INBOUND_SWEEP_SECONDS", 10)

# Alarm history (DescribeAlarmHistory) read daily by beat and after each key `sync_aws` refreshes.
OKAMI_HISTORY_BACKFILL = env_bool("OKAMI_HISTORY_BACKFILL", True)
OKAMI_HISTORY_INTERVAL_SECONDS = env_int("OKAMI_HISTORY_INTERVAL_SECONDS", 86400)

# Outcome inference (incidents.services.inference): an untouched alert that closed within the transient limit,
# or opened within the duplicate window after another alarm's alert of its incident, is labelled once the grace
# period passed; teams may set their own limits (TeamAlertPolicy).
OKAMI_TRANSIENT_MAX_SECONDS = env_int("OKAMI_TRANSIENT_MAX_SECONDS", 300)
OKAMI_DUPLICATE_WINDOW_SECONDS = env_int("OKAMI_DUPLICATE_WINDOW_SECONDS", 120)
OKAMI_INFERENCE_GRACE_SECONDS = env_int("OKAMI_INFERENCE_GRACE_SECONDS", 3600)
OKAMI_INFERENCE_INTERVAL_SECONDS = env_int("OKAMI_INFERENCE_INTERVAL_SECONDS", 300)
# Incidents (incidents.services.grouping): an alert of a service joins its open incident within this window
# of the incident's last alert; an incident closes this long after its last alert closed.
OKAMI_INCIDENT_WINDOW_SECONDS = env_int("OKAMI_INCIDENT_WINDOW_SECONDS", 600)
OKAMI_INCIDENT_QUIET_SECONDS = env_int("OKAMI_INCIDENT_QUIET_SECONDS", 600)

# Chat (incidents.chat): Slack when SLACK_BOT_TOKEN is set, else the log. SLACK_API_URL is the Web API base
# (ending in /api/), for a local stand-in. Page-tier alerts of an alarm without an owner team go to the
# fallback channel; ticket-tier alerts go into a daily digest per team at OKAMI_DIGEST_TIME (the portal's time
# zone, TIME_ZONE) unless the team set its own; each page message shows the team's week against its budget.
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_API_URL = env_str("SLACK_API_URL") or "https://slack.com/api/"
OKAMI_CHAT_FALLBACK_CHANNEL = env_str("OKAMI_CHAT_FALLBACK_CHANNEL") or "#alarms-unowned"
OKAMI_DIGEST_TIME = env_str("OKAMI_DIGEST_TIME") or "09:00"
OKAMI_PAGE_BUDGET = env_int("OKAMI_PAGE_BUDGET", 15)
# Only alerts that opened this recently are announced (a late report or a history import is not news).
OKAMI_CHAT_FRESH_SECONDS = env_int("OKAMI_CHAT_FRESH_SECONDS", 900)
OKAMI_BASE_URL = (env_str("OKAMI_BASE_URL") or "http://localhost:8000").rstrip("/")  # links in chat messages

# The weekly review (alarms.review): each team's review opens on Monday from OKAMI_REVIEW_TIME (TIME_ZONE),
# over the last OKAMI_REVIEW_LOOKBACK_DAYS. The rules' thresholds (teams may override them: TeamReviewPolicy).
OKAMI_REVIEW_TIME = env_str("OKAMI_REVIEW_TIME") or "09:00"
OKAMI_REVIEW_LOOKBACK_DAYS = env_int("OKAMI_REVIEW_LOOKBACK_DAYS", 90)
OKAMI_REVIEW_RULES = {
    "never_acted_on": {"min_alerts": 3},
    "duplicate": {"window_seconds": 300, "share": 0.8, "min_alerts": 3},
    "transient": {"resolve_seconds": 300, "share": 0.5, "min_alerts": 3},
    "flapping": {"changes": 4, "evaluation_periods": 20, "changes_in_30_minutes": 3},
    "noisy": {"top_share": 0.05, "days": 10, "per_week": 15},
    "stuck": {"warn_days": 5, "act_days": 60},
    "muted": {"days": 60},
    "orphaned": {"insufficient_days": 14},
    "no_purpose": {"min_alerts": 1},  # page tier, or fired this often: the rest is coverage's business
}

CELERY_BEAT_SCHEDULE = {
    "sync-all-accounts": {
        "task": "alarms.tasks.sync_all_accounts",
        "schedule": float(OKAMI_SYNC_INTERVAL_SECONDS),
    },
    "history-backfill": {
        "task": "incidents.tasks.history_backfill_all",
        "schedule": float(OKAMI_HISTORY_INTERVAL_SECONDS),
    },
    "inbound-sweep": {
        "task": "incidents.tasks.inbound_sweep_task",
        "schedule": float(OKAMI_INBOUND_SWEEP_SECONDS),
    },
    "outcome-inference": {
        "task": "incidents.tasks.outcomes_infer_task",
        "schedule": float(OKAMI_INFERENCE_INTERVAL_SECONDS),
    },
    "incident-close": {
        "task": "incidents.tasks.incidents_close_task",
        "schedule": 60.0,
    },
    "review-open": {
        "task": "alarms.review.tasks.reviews_open_task",
        "schedule": 3600.0,
    },
    "chat-announce-sweep": {
        "task": "incidents.tasks.chat_announce_sweep_task",
        "schedule": 60.0,
    },
    "chat-digests": {
        "task": "incidents.tasks.chat_digests_task",
        "schedule": 300.0,
    },
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("OKAMI_LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
    },
}
