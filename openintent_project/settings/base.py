"""Settings shared by every mode, read from the environment.

No ``DATABASE_URL`` means the embedded default: SQLite in WAL mode.  No ``REDIS_URL``
means a Celery broker that needs no server and the in-memory channel layer.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Everything the embedded mode writes (SQLite file, broker folders, media) lives here.
DATA_DIR = Path(env.str("OPENINTENT_DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "openintent_project.api",
    "agents_registry",
    "intents",
    "governance",
    "vaults",
    "triggers",
]

# The API (everything under /api/ and /.well-known/) is served by a handler of its own with
# only the middleware it needs (handlers.SplitWSGIApplication): agents authenticate with an API
# key on every request, so sessions, CSRF, users, messages and static files have nothing to
# do there and would cost about a third of a short request.
API_MIDDLEWARE = [
    "openintent_project.api.middleware.CorsMiddleware",
    "openintent_project.api.middleware.ProcessIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
]
API_PATH_PREFIXES = ("/api/", "/.well-known/")

# Everything else: the admin, the review screens, the API docs and static files.
MIDDLEWARE = [
    "openintent_project.api.middleware.CorsMiddleware",
    "openintent_project.api.middleware.ProcessIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "openintent_project.urls"
ASGI_APPLICATION = "openintent_project.asgi.application"
WSGI_APPLICATION = "openintent_project.wsgi.application"
# Paths have no trailing slash (protocol README §1); never redirect to add one.
APPEND_SLASH = False

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
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}


def tune_sqlite(database: dict) -> dict:
    """WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN,
    so two writers queue on the busy timeout instead of failing with "database is locked"
    when a read transaction tries to upgrade."""
    if database["ENGINE"] in ("django.db.backends.sqlite3", "openintent_project.db.sqlite3"):
        # Our engine: Django's SQLite with one writer per process (see db/sqlite3/base.py).
        database["ENGINE"] = "openintent_project.db.sqlite3"
        if database["NAME"] != ":memory:":
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # Keep the connection: opening one runs the PRAGMAs below on every request.
        database.setdefault("CONN_MAX_AGE", None)
        options = database.setdefault("OPTIONS", {})
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 30)
        # journal_mode=WAL is stored in the database file (set once after migrate, see
        # openintent_project.api.apps); these two are per connection.
        options.setdefault("init_command", "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
    else:
        database.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
        database.setdefault("CONN_HEALTH_CHECKS", True)
    return database


tune_sqlite(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery, Channels ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # kombu's filesystem transport: a broker made of files, shared by every local process.
    _broker_dir = DATA_DIR / "celery-broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redone
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Internationalisation and time ----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
# Set STATIC_ROOT (and run collectstatic) to serve pre-compressed assets in production.
STATIC_ROOT = env.str("STATIC_ROOT", default=None)
# Serve admin, Swagger and ReDoc assets straight from the installed apps, no collectstatic
# step needed for the embedded default; production may still run collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"

# --- Auth -----------------------------------------------------------------------------
LOGIN_URL = "/admin/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Protocol settings ----------------------------------------------------------------
# API keys from the environment (comma-separated) replace the built-in set; keys created in
# the admin are stored hashed and always accepted.
OPENINTENT_DEV_API_KEYS = ["dev-user-key", "agent-research-key", "agent-synth-key"]
OPENINTENT_API_KEYS = env.list("OPENINTENT_API_KEYS", default=[])
# Keys that may act for any agent (protocol README §2, operator keys).
OPENINTENT_OPERATOR_KEYS = env.list("OPENINTENT_OPERATOR_KEYS", default=[])
# Largest JSON request body accepted before answering 413.
OPENINTENT_MAX_BODY_BYTES = env.int("OPENINTENT_MAX_BODY_BYTES", default=1024 * 1024)
OPENINTENT_PROTOCOL_VERSION = "0.1"
# Long-lived threads per web process that run requests' synchronous code (see handlers.py).
OPENINTENT_REQUEST_THREADS = env.int("OPENINTENT_REQUEST_THREADS", default=4)
# API reads that arrive while a web process has no request in flight run on its event loop's
# thread instead of a request thread: 0.15-0.2 ms less per read (see handlers.py).
OPENINTENT_READS_ON_LOOP = env.bool("OPENINTENT_READS_ON_LOOP", default=True)
# A keep-alive connection with no request for this long is closed by the web process
# (openintent_project/lean_http.py); clients reconnect as they would after any close.
OPENINTENT_HTTP_IDLE_SECONDS = env.float("OPENINTENT_HTTP_IDLE_SECONDS", default=300.0)
# Tests only: label responses with the serving process id (see ProcessIdMiddleware).
OPENINTENT_EXPOSE_PROCESS_ID = env.bool("OPENINTENT_EXPOSE_PROCESS_ID", default=False)
# RFC-0026 platform-level human retry policy, shown by /api/v1/server/config.
OPENINTENT_SUSPENSION_DEFAULT_RETRY_POLICY = env.json(
    "OPENINTENT_SUSPENSION_DEFAULT_RETRY_POLICY", default=None
)

# --- DRF and OpenAPI ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["openintent_project.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["openintent_project.api.renderers.ProtocolJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "openintent_project.api.parsers.ProtocolJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "openintent_project.api.parsers.AnyContentJSONParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [],
    "EXCEPTION_HANDLER": "openintent_project.api.exceptions.protocol_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OpenIntent Server API",
    "DESCRIPTION": "The OpenIntent Coordination Protocol (RFC-0001 … RFC-0017), served by Django.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # 4xx answers (409 conflicts, 404s) are normal protocol outcomes, not warnings;
        # 5xx are still logged with their tracebacks.
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
    },
}


def require_secret_key() -> None:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set outside dev mode.")
from .attachments import *  # noqa: E402,F401,F403
from .vaults import *  # noqa: E402,F401,F403
from .leases import *  # noqa: E402,F401,F403
from .triggers import *  # noqa: E402,F401,F403
from .agents import *  # noqa: E402,F401,F403
from .governance import *  # noqa: E402,F401,F403
from .streams import *  # noqa: E402,F401,F403
from .reliability import *  # noqa: E402,F401,F403
