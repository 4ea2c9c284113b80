"""Settings for the402, configured by environment variables (see README "Configuration").

One module serves the laptop default (SQLite in ./var, django-q2 on the ORM broker, the anvil
devnet) and production (PostgreSQL, Redis broker, Base mainnet). Bad values stop start-up.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from the402.lib.env import env_bool, env_choice, env_int, env_list, env_str

# Django's generic classes (`admin.ModelAdmin[Participant]`) subscriptable at run time, as
# the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(env_str("THE402_DATA_DIR", str(BASE_DIR / "var")) or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Debug is off unless DEBUG is set (`make run` sets it for the local default): a server
# started any other way never shows tracebacks or generates its own keys.
DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off; "
            "set DEBUG=1 for a local run that keeps a generated key in THE402_DATA_DIR"
        )
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _encryption_key() -> bytes:
    """The master key for secrets at rest (API keys, credentials): 32 bytes, base64."""
    value = env_str("THE402_ENCRYPTION_KEY")
    if not value:
        if not DEBUG:
            raise ImproperlyConfigured(
                "THE402_ENCRYPTION_KEY (or THE402_ENCRYPTION_KEY_FILE) is required when DEBUG "
                "is off: 32 random bytes, base64-encoded"
            )
        key_file = DATA_DIR / "encryption_key"
        if not key_file.exists():
            key_file.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            key_file.chmod(0o600)
        value = key_file.read_text().strip()
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        raise ImproperlyConfigured("THE402_ENCRYPTION_KEY is not valid base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured("THE402_ENCRYPTION_KEY must decode to exactly 32 bytes")
    return key


ENCRYPTION_KEY = _encryption_key()

PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

PUBLIC_URL = (env_str("THE402_PUBLIC_URL") or "").rstrip("/")
if PUBLIC_URL and not PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("THE402_PUBLIC_URL must start with http:// or https://")

# Which chain the marketplace is paid on. Devnet is anvil with chain id 84532, presented to
# clients as base-sepolia so the official x402 clients pay it unchanged.
NETWORK = env_choice("THE402_NETWORK", "devnet", ("devnet", "base-sepolia", "base"))
PAY_TO = env_str("THE402_PAY_TO", "") or ""


def _recorded_devnet_port(default: int) -> int:
    """The port `manage.py devnet start` (hence `make run`) last ran anvil on, as recorded in
    DATA_DIR/devnet/deployment.json: other commands find that chain without the caller
    exporting THE402_DEVNET_PORT."""
    try:
        recorded = json.loads((DATA_DIR / "devnet" / "deployment.json").read_text("utf-8"))
        port = urlsplit(str(recorded["rpc_url"])).port
    except (OSError, ValueError, KeyError, TypeError):
        return default
    return port if port is not None and 0 < port < 65536 else default


# JSON-RPC endpoint of the chain; on devnet, the local anvil on THE402_DEVNET_PORT (default:
# the port the devnet last ran on, else 8545).
_DEVNET_PORT_EXPORTED = bool(env_str("THE402_DEVNET_PORT"))
DEVNET_PORT = env_int("THE402_DEVNET_PORT", 8545, minimum=1, maximum=65535)
if not _DEVNET_PORT_EXPORTED:
    DEVNET_PORT = _recorded_devnet_port(DEVNET_PORT)
CHAIN_RPC_URL = env_str("CHAIN_RPC_URL") or (
    f"http://127.0.0.1:{DEVNET_PORT}" if NETWORK == "devnet" else ""
)
# The key that sends our transactions (settlements, escrow calls, payouts); on devnet the
# deployment's owner key is used when unset.
RELAYER_KEY = env_str("THE402_RELAYER_KEY") or ""
# The402Escrow on a real network (deploy it with `manage.py deploy_escrow`); devnet's is
# recorded with the devnet deployment.
ESCROW_ADDRESS = env_str("THE402_ESCROW_ADDRESS") or ""
# `local` verifies and settles in-process; a URL names a remote x402 facilitator.
FACILITATOR = env_str("THE402_FACILITATOR", "local") or "local"
if FACILITATOR != "local" and not FACILITATOR.startswith(("http://", "https://")):
    raise ImproperlyConfigured("THE402_FACILITATOR must be `local` or an http(s) URL")
CDP_API_KEY_ID = env_str("CDP_API_KEY_ID") or ""
CDP_API_KEY_SECRET = env_str("CDP_API_KEY_SECRET") or ""
SERVE_FACILITATOR = env_bool("THE402_SERVE_FACILITATOR", default=False)
if PAY_TO and not re.fullmatch(r"0x[0-9a-fA-F]{40}", PAY_TO):
    raise ImproperlyConfigured("THE402_PAY_TO must be an address: 0x followed by 40 hex digits")
if NETWORK != "devnet":
    # On a real chain nothing is deployed by us: say where to pay and how to reach the chain.
    missing = [
        name
        for name, value in (
            ("THE402_PAY_TO", PAY_TO),
            ("CHAIN_RPC_URL", CHAIN_RPC_URL),
            ("THE402_RELAYER_KEY", RELAYER_KEY if FACILITATOR == "local" else "set"),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"THE402_NETWORK={NETWORK} needs {', '.join(missing)} "
            "(the relayer key only with THE402_FACILITATOR=local)"
        )
# How long a paid request waits for its settlement's receipt before answering "pending".
SETTLE_TIMEOUT = env_int("THE402_SETTLE_TIMEOUT", 30, minimum=1, maximum=300)
# How long a request with an Idempotency-Key owns its key, in seconds: a retry after that
# takes it over (the first process died). Never less than the longest a request may wait.
IDEMPOTENCY_LEASE = env_int("THE402_IDEMPOTENCY_LEASE", 300, minimum=60, maximum=3600)
# The key of the treasury (THE402_PAY_TO), which sends provider payouts; on devnet the
# deployment's treasury (anvil account 1) is used when unset.
TREASURY_KEY = env_str("THE402_TREASURY_KEY") or ""
# A provider is paid out once it is owed at least this much, in micro-USDC ($10 by default).
PAYOUT_THRESHOLD = env_int("THE402_PAYOUT_THRESHOLD", 10_000_000, minimum=1)
# Provider webhooks: how long one delivery attempt may take, in seconds (kept well under
# django-q2's 60 s task timeout), and whether URLs resolving to loopback, private,
# link-local or reserved addresses may be called (off unless THE402_WEBHOOK_ALLOW_PRIVATE
# is set, never derived from DEBUG; `make run` sets it, as local providers listen on
# 127.0.0.1; off, it keeps webhooks from reaching the internal network or a cloud
# metadata endpoint).
WEBHOOK_TIMEOUT = env_int("THE402_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=30)
# The highest price a service may be listed at, in whole USD (a price of zero or less is
# refused too).
MAX_PRICE_USD = env_int("THE402_MAX_PRICE_USD", 100_000, minimum=1, maximum=10**9)
# After a webhook secret is rotated, how long (hours) each webhook also carries a signature
# by the previous secret (`X-Webhook-Signature-Previous`), so a provider can deploy.
WEBHOOK_SECRET_GRACE_HOURS = env_int("THE402_WEBHOOK_SECRET_GRACE_HOURS", 24, minimum=0)
# How long a data API purchase waits for the provider's answer (the buyer is waiting too).
DATA_API_TIMEOUT = env_int("THE402_DATA_API_TIMEOUT", 15, minimum=1, maximum=60)
# Reputation: a signal's weight halves every REPUTATION_HALF_LIFE_DAYS; sybil detection
# looks at the trade of the last REPUTATION_SYBIL_WINDOW_DAYS.
REPUTATION_HALF_LIFE_DAYS = env_int("THE402_REPUTATION_HALF_LIFE_DAYS", 90, minimum=1)
REPUTATION_SYBIL_WINDOW_DAYS = env_int("THE402_REPUTATION_SYBIL_WINDOW_DAYS", 30, minimum=1)
# Referrals: the programme's start (ISO 8601 date or time, UTC) begins the 90-day launch
# bonus; empty: the deployment's first migration (referrals.program.program_start).
REFERRAL_PROGRAM_START = env_str("THE402_REFERRAL_PROGRAM_START", "") or ""
WEBHOOK_ALLOW_PRIVATE = env_bool("THE402_WEBHOOK_ALLOW_PRIVATE", default=False)
# `/metrics` (Prometheus): with a token, only `Authorization: Bearer <token>` reads it;
# without one, only loopback clients (the402/metrics.py).
METRICS_TOKEN = env_str("THE402_METRICS_TOKEN", "") or ""

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    # Dashboard accounts: email and password, Google (when configured), see "Web dashboard".
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "the402",
    "payments",
    "reputation",
    "marketplace",
    "referrals",
]

MIDDLEWARE = [
    # First: times every request, whatever answers it (the402/metrics.py, `/metrics`).
    "the402.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on HTML pages: no inline scripts, nothing from other origins.
    "the402.web.csp.ContentSecurityPolicyMiddleware",
    # Before anything that could read a body (CSRF reads forms): 413 by declared size.
    "the402.lib.bodylimit.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Django's own error pages (a 404 of an unknown route, DEBUG's HTML pages) become JSON
    # for API paths and JSON-preferring clients.
    "the402.lib.jsonerrors.JsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "the402.urls"
WSGI_APPLICATION = "the402.wsgi.application"

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
    },
]


def _database() -> dj_database_url.DBConfig:
    url = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'the402.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=0)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock at BEGIN, so two writers queue on the
        # busy timeout instead of failing with "database is locked" at their first write.
        config["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
        # Reads go through a memory map (shared by every connection, paged by the OS): a
        # catalog search seeks thousands of index pages, and a system call per page read
        # past SQLite's small per-connection cache made it a third slower.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                # secure_delete: deleted rows (an erased credential's data key) are zeroed.
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON; "
                f"PRAGMA mmap_size={env_int('SQLITE_MMAP_MB', 256, minimum=0) * 2**20};"
            ),
        }
    elif engine == "django.db.backends.postgresql":
        config["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        # Server-side parameters let psycopg prepare the statements a worker repeats (the
        # catalog's few query shapes), so PostgreSQL stops re-planning them on every request.
        config["OPTIONS"] = {"server_side_binding": env_bool("PG_SERVER_SIDE_BINDING", True)}
    else:
        raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from here after collectstatic
# Our own stylesheet and scripts (the web dashboard); no CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    # Digital products' files: outside MEDIA_ROOT and served by no URL; they leave only
    # through GET /v1/products/:id/download. Any Django storage backend can replace it.
    "products": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "products")},
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# The largest digital product file a provider may upload (bytes; default 100 MB).
PRODUCT_MAX_BYTES = env_int(
    "THE402_PRODUCT_MAX_BYTES", 104_857_600, minimum=1, maximum=10_737_418_240
)
# The largest request body any endpoint takes, for every parser (JSON, text briefs, forms):
# a longer one is answered 413 before it is read (`the402.lib.bodylimit`). A view may allow
# more (`max_body_bytes`): thread messages carry attachments of up to 25 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MB, Django's default, stated

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "the402.lib.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "the402.schema.The402AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "the402 API",
    "DESCRIPTION": (
        "A marketplace where AI agents discover and buy services and pay per request in USDC "
        "on Base through the x402 protocol. The catalog is free; paid endpoints answer 402 "
        "with x402 payment requirements."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # X-API-Key, X-BALANCE-AUTH, X-PAYMENT and PAYMENT-SIGNATURE, so /docs can send them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "the402.schema.add_security_schemes",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # Choice sets that share a field name get names of their own instead of a hash suffix.
    "ENUM_NAME_OVERRIDES": {
        "ParticipantTypeEnum": ["agent", "provider", "both"],
        "ServiceStatusEnum": ["active", "inactive"],
    },
}

CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/(v1/|\.well-known/|health$|openapi\.json$).*"
CORS_ALLOW_HEADERS = (
    "accept",
    "content-type",
    "idempotency-key",
    "payment-signature",
    "x-api-key",
    "x-balance-auth",
    "x-payment",
)
CORS_EXPOSE_HEADERS = (
    "payment-required",
    "x-payment-required",
    "payment-response",
    "x-payment-response",
)

# --- Background work --------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER: dict = {
    "name": "the402",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": 60,
    "retry": 120,  # must exceed timeout, or django-q2 re-delivers running tasks
    "max_attempts": 1,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache and rate limits --------------------------------------------------------------
# One cache shared by every process, so a rate limit counts across all workers: Redis when
# REDIS_URL is set, else a table in the database (created by the `the402` app's migration).
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "the402_cache",
            # Culling only starts past this many rows: well above what the limits store.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Requests per caller per RATE_LIMIT_WINDOW seconds on the free endpoints that make us work
# (see the402/lib/ratelimit.py): the webhook test (each one calls the provider's URL) and
# thread messages sent with an API key.
RATE_LIMIT_WINDOW = 60
RATE_LIMITS = {
    "webhook_test": env_int("THE402_RATE_LIMIT_WEBHOOK_TEST", 10, minimum=1, maximum=1000),
    "thread_message": env_int("THE402_RATE_LIMIT_MESSAGES", 60, minimum=1, maximum=1000),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    # 4xx answers (a 402 challenge above all) are the API working, not warnings; 5xx still log.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Web dashboard: accounts (django-allauth), mail, Sign-In with Ethereum ---------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PUBLIC_URL.startswith("https://") else "http"
# Counted in the shared cache (so across every worker): failed log-ins per address and per
# account, sign-ups, password-reset mails, confirmation mails.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    # Sign-In with Ethereum: nonces asked for and signatures presented (the402's own).
    "siwe": "30/m/ip",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[the402] "
# Google sign-in is offered only when both credentials are set.
GOOGLE_CLIENT_ID = env_str("THE402_GOOGLE_CLIENT_ID") or ""
GOOGLE_CLIENT_SECRET = env_str("THE402_GOOGLE_CLIENT_SECRET") or ""
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    INSTALLED_APPS.append("allauth.socialaccount.providers.google")
    SOCIALACCOUNT_PROVIDERS = {
        "google": {
            "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}],
            "SCOPE": ["profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
        }
    }
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never merge a Google login into an account by email

# Mail (verification, password reset): SMTP when EMAIL_HOST is set, else printed to the log.
EMAIL_HOST = env_str("EMAIL_HOST") or ""
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "the402 <noreply@localhost>"

if PUBLIC_URL:
    CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Off devnet, session and CSRF cookies only travel over HTTPS unless told otherwise.
    SESSION_COOKIE_SECURE = env_bool(
        "SECURE_COOKIES", default=PUBLIC_URL.startswith("https://") or NETWORK != "devnet"
    )
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
