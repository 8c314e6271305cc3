"""Handoff settings: one file, every knob an environment variable (12-factor).

Development needs nothing set: SQLite, in-memory channel layer, local-memory cache,
console email. With DEBUG off, SECRET_KEY and ALLOWED_HOSTS must be given.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "django-insecure-handoff-development-only"  # noqa: S105 - refused when DEBUG is off
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
# Blank entries (`ALLOWED_HOSTS=" "`) are dropped, so they cannot pass for a setting.
ALLOWED_HOSTS = [
    host.strip()
    for host in env.list(
        "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
    )
    if host.strip()
]


def _refuse_to_start(message: str) -> NoReturn:
    # One readable line instead of a traceback: this is what an operator sees first.
    raise SystemExit(f"Handoff configuration error: {message}")


if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET:
        _refuse_to_start("SECRET_KEY must be set when DEBUG is off.")
    if not ALLOWED_HOSTS:
        _refuse_to_start("ALLOWED_HOSTS must be set when DEBUG is off.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "anymail",
    "django_tasks_db",
    "axes",
    "chatbots",
    "support",
]

MIDDLEWARE = [
    # First: its time covers every other middleware (support/metrics/instrumentation.py).
    "support.metrics.instrumentation.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The request's language from Accept-Language (the API, the widget's calls, the login
    # page); no i18n_patterns, so paths never get a language prefix (they are a contract).
    "django.middleware.locale.LocaleMiddleware",
    # An agent's chosen console language overrides the browser's on their pages.
    "support.console.middleware.AgentLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # daphne and the worker share the file: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock at BEGIN (no lock upgrade deadlock), and the
    # busy timeout waits for it instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so that daphne processes started by the tests share it.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("SQLITE_TEST_DB", default=str(BASE_DIR / ".test-db.sqlite3"))
    }
elif env.bool("DB_POOL", default=True):
    # Under ASGI each HTTP request's sync code runs on a thread of its own, and the live
    # path has its pool (core/workpool.py): persistent connections (CONN_MAX_AGE) would
    # be one per thread ever used, outliving the threads (50 concurrent HTTP clients
    # exhausted the server's 100: "too many clients"). A psycopg pool per process bounds
    # them and saves the connect.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # connections go back to the pool
    # Checked when taken from the pool: one the server ended (a restart, a failover, an
    # administrator's pg_terminate_backend) is replaced instead of failing a request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Which of channels_redis's two layers carries events: "core" (lists and BRPOP, a
# per-channel capacity) or "pubsub" (Redis PUBLISH/SUBSCRIBE). docs/performance.md
# compares them.
CHANNEL_LAYER_KIND = env.str("CHANNEL_LAYER_KIND", default="core")
if CHANNEL_LAYER_KIND not in ("core", "pubsub"):
    _refuse_to_start('CHANNEL_LAYER_KIND must be "core" or "pubsub".')
if REDIS_URL:
    _redis_host = {
        "address": REDIS_URL,
        # redis-py 8 reads with a 5 s timeout by default: exactly the 5 s BRPOP of
        # channels_redis, so an idle receive timed out and ended a consumer (and its
        # socket) every few seconds.
        "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=30),
        # redis-py 8's asyncio pool refuses (does not wait) past 100.
        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=1000),
    }
    if CHANNEL_LAYER_KIND == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [_redis_host],
                    "prefix": env.str("CHANNEL_PREFIX", default="handoff"),
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [_redis_host],
                    "capacity": env.int("CHANNEL_CAPACITY", default=1000),
                    "expiry": 60,
                    "prefix": env.str("CHANNEL_PREFIX", default="handoff"),
                },
            }
        }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="handoff"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Tasks (email outbox) ---------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Email ------------------------------------------------------------------------------
FROM_EMAIL = env.str("FROM_EMAIL", default="Handoff <noreply@localhost>")
DEFAULT_FROM_EMAIL = FROM_EMAIL
SERVER_EMAIL = FROM_EMAIL
SMTP_SERVER = env.str("SMTP_SERVER", default="")
# Anymail ESP name ("mailgun", "postmark", "sendgrid", ...): its keys come from ANYMAIL_* variables.
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").lower()
_mailer: dict[str, Any]
if EMAIL_PROVIDER:
    _mailer = {"BACKEND": f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"}
elif SMTP_SERVER:
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": SMTP_SERVER,
            "port": env.int("SMTP_PORT", default=587),
            "username": env.str("SMTP_USER", default=""),
            "password": env.str("SMTP_PASSWORD", default=""),
            "use_tls": env.bool("SMTP_USE_TLS", default=True),
            "timeout": env.int("SMTP_TIMEOUT", default=20),
        },
    }
else:
    # Development: mails are printed by the worker.
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {"default": _mailer}
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_")
}
# Outbox (docs/email.md): a failed send is retried after BASE * 2**(attempt-1) seconds
# (capped at MAX) until EMAIL_MAX_ATTEMPTS, then the row is `failed`. A worker holds a row
# for EMAIL_SEND_LEASE_SECONDS while sending; a crashed worker's row is taken back after.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_BASE_SECONDS = env.float("EMAIL_RETRY_BASE_SECONDS", default=30.0)
EMAIL_RETRY_MAX_SECONDS = env.float("EMAIL_RETRY_MAX_SECONDS", default=3600.0)
EMAIL_SEND_LEASE_SECONDS = env.float("EMAIL_SEND_LEASE_SECONDS", default=300.0)
EMAIL_TRANSCRIPT_LINES = env.int("EMAIL_TRANSCRIPT_LINES", default=10)
# One reminder to the chatbot's admin for a request still pending after this long (0: off).
PENDING_REMINDER_MINUTES = env.float("PENDING_REMINDER_MINUTES", default=10.0)
# The bot conversation shown to agents: its last messages, in a request's details and in
# the queue lists (a stranger decides how long it gets).
TRANSCRIPT_MAX_MESSAGES = env.int("TRANSCRIPT_MAX_MESSAGES", default=500)
TRANSCRIPT_LIST_MESSAGES = env.int("TRANSCRIPT_LIST_MESSAGES", default=50)
# At most one visitor confirmation per address in this many minutes (0: no limit).
VISITOR_CONFIRMATION_INTERVAL_MINUTES = env.float(
    "VISITOR_CONFIRMATION_INTERVAL_MINUTES", default=60.0
)
# At most this many visitor confirmations per chatbot in 24 hours (0: no limit).
VISITOR_CONFIRMATIONS_PER_CHATBOT_PER_DAY = env.int(
    "VISITOR_CONFIRMATIONS_PER_CHATBOT_PER_DAY", default=200
)

# --- Auth, sessions, security -------------------------------------------------------------
# A visitor's token stops working after this many days without use (0: never).
VISITOR_TOKEN_DAYS = env.int("VISITOR_TOKEN_DAYS", default=30)
# Closed requests are deleted this many days after closing, unless their chatbot sets its
# own retention_days (0: kept forever; support/upkeep/retention.py).
RETENTION_DAYS = env.int("RETENTION_DAYS", default=365)

# --- Scheduled upkeep (manage.py run_scheduler, docs/operations.md) -----------------------
# How often each job runs: the email sweep (stale sends, pending reminders), the retention
# purge, the pruning of finished task rows.
SCHEDULER_SWEEP_SECONDS = env.float("SCHEDULER_SWEEP_SECONDS", default=60.0)
SCHEDULER_PURGE_SECONDS = env.float("SCHEDULER_PURGE_SECONDS", default=86400.0)
SCHEDULER_PRUNE_TASKS_SECONDS = env.float("SCHEDULER_PRUNE_TASKS_SECONDS", default=86400.0)
# A second scheduler takes over this long after the first one stopped renewing its lease.
SCHEDULER_LEASE_SECONDS = env.float("SCHEDULER_LEASE_SECONDS", default=60.0)
# Finished task rows (django-tasks-db) are kept this many days.
TASK_RESULTS_KEEP_DAYS = env.int("TASK_RESULTS_KEEP_DAYS", default=14)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out (username, address) pair before the password
# is even checked, on the console's and the admin's login alike.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF", default=15.0))
# One username from one address: a stranger guessing an agent's password does not lock
# the agent out everywhere, and one office address does not lock out all its agents.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.login_protection.request_client_ip"
AXES_LOCKOUT_CALLABLE = "core.login_protection.lockout_response"
LOGIN_URL = "/console/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/console/login/"

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes of the load balancer come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

from django.utils.csp import CSP  # noqa: E402

# Strict policy for our own pages (console, admin, demo): no inline script or style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Limits ---------------------------------------------------------------------------------
MAX_BODY_BYTES = env.int("MAX_BODY_BYTES", default=64 * 1024)
# Everything else (admin forms, email providers' batched webhooks): Django's own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
MAX_MESSAGE_CHARS = env.int("MAX_MESSAGE_CHARS", default=5000)
# Messages per `GET .../messages?after=` page. The widget and console learn it from the
# server (the widget config, the console page) and read on while a page comes back full.
MESSAGE_PAGE_SIZE = env.int("MESSAGE_PAGE_SIZE", default=500)
# WebSocket, per socket (docs/events.md): larger frames answer `too_large`; token buckets
# (burst, then a sustained rate) answer `rate_limited`; typing is relayed at most once per
# WS_TYPING_RELAY_SECONDS unless it changes.
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", default=16 * 1024)
WS_MESSAGE_BURST = env.int("WS_MESSAGE_BURST", default=10)
WS_MESSAGES_PER_SECOND = env.float("WS_MESSAGES_PER_SECOND", default=1.0)
WS_TYPING_BURST = env.int("WS_TYPING_BURST", default=10)
WS_TYPING_PER_SECOND = env.float("WS_TYPING_PER_SECOND", default=2.0)
WS_TYPING_RELAY_SECONDS = env.float("WS_TYPING_RELAY_SECONDS", default=2.0)
# Open sockets of one visitor session and of one client address (all processes, counted in
# Redis when REDIS_URL is set); past either cap a visitor's socket is refused with 4429.
WS_MAX_SOCKETS_PER_SESSION = env.int("WS_MAX_SOCKETS_PER_SESSION", default=10)
WS_MAX_SOCKETS_PER_IP = env.int("WS_MAX_SOCKETS_PER_IP", default=100)

# --- The live path (core/workpool.py, docs/performance.md) -----------------------------------
# Database threads of the live path per process (socket frames, their admission, the HTTP
# message post), each with its own connection: conversations commit in parallel.
LIVE_DB_THREADS = env.int("LIVE_DB_THREADS", default=8)
# Messages waiting for or holding one of those threads, per process; past it a message is
# refused at once (`busy` frame, HTTP 503) and the client sends it again later.
LIVE_MAX_IN_FLIGHT = env.int("LIVE_MAX_IN_FLIGHT", default=64)
# How long a refused client waits before sending again (spread by up to half again).
LIVE_BUSY_RETRY_MS = env.int("LIVE_BUSY_RETRY_MS", default=500)
# Socket admissions (credentials, history) at once per process; a connection waits at
# most LIVE_ADMISSION_WAIT_SECONDS for its turn, then closes with 4503 (try again later),
# well before daphne's handshake timeout would refuse it.
LIVE_MAX_ADMISSIONS = env.int("LIVE_MAX_ADMISSIONS", default=8)
LIVE_ADMISSION_WAIT_SECONDS = env.float("LIVE_ADMISSION_WAIT_SECONDS", default=3.0)
# An agent's access is re-read at most this often on their writes (and at once when a
# revocation event arrives): a dropped revocation event keeps access this long at most.
AGENT_ACCESS_RECHECK_SECONDS = env.float("AGENT_ACCESS_RECHECK_SECONDS", default=5.0)

# --- CORS: the widget runs on customers' sites; origins are checked per chatbot ------------
CORS_ALLOW_ALL_ORIGINS = False
CORS_URLS_REGEX = r"^/(api/chatbots/[^/]+/(config|sessions)|api/sessions/.*|human-support/.*)$"
# accept-language: the widget names the language its config chose (chatbot-widget.js);
# safelisted for short values, listed for browsers that preflight it anyway.
CORS_ALLOW_HEADERS = ["accept", "accept-language", "authorization", "content-type"]
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 600

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "chatbots.visitors.VisitorBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "core.http_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "support.api.schema.HandoffAutoSchema",
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "session_create_ip": env.str("RATE_SESSION_CREATE_IP", default="30/min"),
        "bot_message_ip": env.str("RATE_BOT_MESSAGE_IP", default="120/min"),
        "bot_message_session": env.str("RATE_BOT_MESSAGE_SESSION", default="30/min"),
        "request_create_ip": env.str("RATE_REQUEST_CREATE_IP", default="10/min"),
        "request_create_session": env.str("RATE_REQUEST_CREATE_SESSION", default="5/min"),
        "visitor_message_ip": env.str("RATE_VISITOR_MESSAGE_IP", default="120/min"),
        "visitor_message_session": env.str("RATE_VISITOR_MESSAGE_SESSION", default="30/min"),
        # Typing frames of one visitor session, all its sockets together (not an HTTP rate).
        "visitor_typing_session": env.str("RATE_VISITOR_TYPING_SESSION", default="120/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Handoff API",
    "DESCRIPTION": "Visitor widget, human-support requests and chatbot administration.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The widget script is loaded by customers' pages on other origins.
WHITENOISE_ALLOW_ALL_ORIGINS = True
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

DEMO_PAGE = env.bool("DEMO_PAGE", default=DEBUG)

# --- Metrics (docs/operations.md) --------------------------------------------------------------
# `GET /metrics` answers a caller sending `Authorization: Bearer <METRICS_TOKEN>`; unset, 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where prometheus-client keeps every process's series, so that /metrics of any process
# adds up all of them (web and worker processes of one machine). Read by prometheus-client
# from the environment itself; checked here so that a typo stops the start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    _refuse_to_start("PROMETHEUS_MULTIPROC_DIR must be an existing directory.")

from django.utils.translation import gettext_lazy as _  # noqa: E402

# The languages shipped (docs/languages.md says how to add one). "en" is the source
# language: the strings in the code are English and its catalog is empty.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("pt-br", _("Brazilian Portuguese")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- Encryption at rest (docs/operations.md) ---------------------------------------------------
# Fernet keys, comma-separated: the first encrypts, all decrypt (core/encryption.py). Unset:
# the columns hold clear text. FIELD_HASH_KEY keys the look-up hash of visitors' emails; it
# is separate so that rotating the Fernet keys keeps every hash valid.
FIELD_ENCRYPTION_KEYS = [
    key.strip() for key in env.list("FIELD_ENCRYPTION_KEYS", default=[]) if key.strip()
]
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default="")
FIELD_HASH_KEY_MIN_LENGTH = 32
if FIELD_ENCRYPTION_KEYS:
    from cryptography.fernet import Fernet

    for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(_key)
        except ValueError:
            _refuse_to_start(
                f"FIELD_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes, as cryptography.fernet.Fernet.generate_key() makes)."
            )
    if len(FIELD_HASH_KEY) < FIELD_HASH_KEY_MIN_LENGTH:
        _refuse_to_start(
            f"FIELD_HASH_KEY must be set (at least {FIELD_HASH_KEY_MIN_LENGTH} characters) "
            "when FIELD_ENCRYPTION_KEYS is set."
        )
