"""Ledgerbridge settings: everything from the environment, with development defaults.

See docs/configuration.md for the variables.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from portal.db import BASE_DIR, database_settings, var_dir


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


def _development_secret(filename: str, generate) -> str:
    """A secret kept in a file under var/ (git-ignored), generated on first use."""
    path = Path(var_dir()) / filename
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DJANGO_DEBUG", True)
TESTING = env_bool("LEDGERBRIDGE_TESTING", "pytest" in sys.modules)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _development_secret(
    "django-secret-key", lambda: secrets.token_urlsafe(50)
)
# Fernet key(s) for secrets at rest; comma-separated, newest first, for rotation.
LEDGERBRIDGE_SECRET_KEYS = env_list("LEDGERBRIDGE_SECRET_KEY", []) or [
    _development_secret("fernet.key", lambda: __import__("cryptography.fernet").fernet.Fernet.generate_key().decode())
]

# Tenants live at <subdomain>.<base domain>; the public site at the base domain itself.
BASE_DOMAIN = os.environ.get("LEDGERBRIDGE_BASE_DOMAIN", "localhost")
PORTAL_PORT = os.environ.get("LEDGERBRIDGE_PORT", "8000")
PORTAL_SCHEME = os.environ.get("LEDGERBRIDGE_SCHEME", "http")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [f"{PORTAL_SCHEME}://*.{BASE_DOMAIN}:{PORTAL_PORT}",
                                                                  f"{PORTAL_SCHEME}://{BASE_DOMAIN}:{PORTAL_PORT}"])

SHARED_APPS = [
    "django_tenants",
    "portal",  # management commands (demo, sync_now)
    "portal.tenants",
    "portal.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_q",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "portal.accounts",
    "integrations.sync",
    "mapping",
    "reconciliation",
    "ai_copilot",
]
INSTALLED_APPS = list(dict.fromkeys(SHARED_APPS + TENANT_APPS))

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "portal.urls_public"
ROOT_URLCONF = "portal.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "portal.tenants.middleware.SuspendedTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
                "portal.web.context.portal",
                "portal.web.context.notifications",
                "portal.web.context.attention",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"
DATABASES = {"default": database_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = var_dir() / "static"

# The sandbox systems (docs/sandbox.md): where their control API listens and where their state lives.
SANDBOX_CONTROL_URL = os.environ.get("LEDGERBRIDGE_SANDBOX_CONTROL_URL", "http://127.0.0.1:8700")
SANDBOX_ROOT = Path(os.environ.get("LEDGERBRIDGE_SANDBOX_ROOT", var_dir() / "sandbox"))
SANDBOX_TOKEN = os.environ.get("LEDGERBRIDGE_SANDBOX_TOKEN", "")  # read from SANDBOX_ROOT/control-token if empty
SANDBOX_DEFAULT_SIZE = os.environ.get("LEDGERBRIDGE_SANDBOX_SIZE", "small")

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "Ledgerbridge <noreply@ledgerbridge.localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.api.auth.ApiKeyAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ledgerbridge API",
    "DESCRIPTION": "Flows, runs, records and the error inbox of one tenant (docs/inbox-and-approvals.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "integrations.sync.models.Connection.Status",
        "RunStatusEnum": "integrations.sync.models.SyncRun.Status",
        "RecordStatusEnum": "integrations.sync.models.SyncRecord.Status",
    },
}

# django-q2. ORM broker on the same PostgreSQL by default; REDIS_URL switches every node to Redis.
# retry must exceed timeout, or the broker hands a long sync to a second worker (django-q #183).
Q_TIMEOUT = int(os.environ.get("LEDGERBRIDGE_TASK_TIMEOUT", "1800"))
Q_CLUSTER = {
    "name": "ledgerbridge",
    "workers": int(os.environ.get("LEDGERBRIDGE_WORKERS", "2")),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": 1,
    "catch_up": False,  # never replay missed schedules: replays would re-post
    "save_limit": 1000,
    "ack_failures": True,
    "poll": 1,
    "label": "Background tasks",
    "sync": env_bool("LEDGERBRIDGE_TASKS_INLINE", False),
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"

# Sync engine: first backoff step of the retry policy and first breaker cool-down (tests shrink both).
SYNC_RETRY_BASE_SECONDS = float(os.environ.get("LEDGERBRIDGE_RETRY_BASE", "0.5"))
# Daily reconciliation (reconciliation/services.py): from this hour (UTC), over the last N days.
LEDGERBRIDGE_RECONCILE_HOUR = int(os.environ.get("LEDGERBRIDGE_RECONCILE_HOUR", "2"))
LEDGERBRIDGE_RECONCILE_DAYS = int(os.environ.get("LEDGERBRIDGE_RECONCILE_DAYS", "31"))
SYNC_BREAKER_COOLDOWN_SECONDS = float(os.environ.get("LEDGERBRIDGE_BREAKER_COOLDOWN", "30"))

# Triggers and alerts (docs/triggers-and-alerts.md).
# A running run whose heartbeat is older than this, and whose flow lock is free, was cut off: the watchdog resumes it.
SYNC_HEARTBEAT_STALE_SECONDS = int(os.environ.get("LEDGERBRIDGE_HEARTBEAT_STALE_SECONDS", "120"))
# A queued run older than this whose task is no longer in the queue was lost: the watchdog requests it again.
SYNC_QUEUED_STALE_SECONDS = int(os.environ.get("LEDGERBRIDGE_QUEUED_STALE_SECONDS", "600"))
# Failed records of a flow (not yet dealt with) that raise an alert; a flow's options may set alert_error_threshold.
ALERT_ERROR_THRESHOLD = int(os.environ.get("LEDGERBRIDGE_ALERT_ERROR_THRESHOLD", "25"))
# At most one alert digest e-mail per tenant in this many minutes.
ALERT_DIGEST_MINUTES = int(os.environ.get("LEDGERBRIDGE_ALERT_DIGEST_MINUTES", "15"))

if TESTING:
    SYNC_RETRY_BASE_SECONDS = 0.01
    SYNC_BREAKER_COOLDOWN_SECONDS = 0.5
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "portal.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LEDGERBRIDGE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "zeep": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
