"""Settings, read entirely from environment variables (nothing secret is in this file).

On AWS, hakobu's task definition sets DATABASE_ENGINE (mysql or postgres), DATABASE_HOST,
DATABASE_PORT, DATABASE_NAME, DATABASE_USERNAME and PORT, and injects DATABASE_PASSWORD
from Secrets Manager. Without DATABASE_HOST the app uses SQLite (local development, tests).

    DJANGO_SECRET_KEY      required unless DJANGO_DEBUG is on
    DJANGO_DEBUG           1 for local development; off by default
    DJANGO_ALLOWED_HOSTS   comma-separated host names; "*" by default (see below)
    DJANGO_HTTPS           1 once the load balancer terminates HTTPS: redirect HTTP to
                           HTTPS, secure cookies, HSTS (DJANGO_HSTS_SECONDS, default 3600)
    DJANGO_CSRF_TRUSTED_ORIGINS  comma-separated origins forms may be posted from
                           ("https://app.example.com"); hakobu sets both with [domain]
    DJANGO_LOG_LEVEL       INFO by default
    DJANGO_SQLITE_PATH     the SQLite file without DATABASE_HOST (default db.sqlite3 here)
    DJANGO_STATIC_ROOT     where collectstatic writes (default staticfiles/ here)
    DATABASE_CONNECT_TIMEOUT  seconds, 3 by default: below the ALB's 5 s health check timeout
    DATABASE_READ_TIMEOUT  seconds a query may wait for the server; none by default, 30 when
                           serving HTTP (config/wsgi.py), so migrations are never cut off
    DATABASE_SSL_CA        a CA bundle (the RDS one) to verify the database's certificate
"""

import os
from pathlib import Path

import pymysql
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not a boolean: use 1 or 0")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: refusing to start without it in production. "
            "Set it to a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), or set DJANGO_DEBUG=1 for local development."
        )
    # Development only: a fresh key per process, so no key is ever written in the code.
    SECRET_KEY = get_random_secret_key()

# "*" by default: the ALB's DNS name is known only after `hakobu up`. The ALB forwards any
# Host header, so with "*" Django trusts whatever Host a client sends; that matters where
# an app builds absolute URLs from it (password-reset mails, cached redirects), which this
# one does not. Once the site has a name, set DJANGO_ALLOWED_HOSTS to it (and the ALB's
# name): the health check (config.health) answers before host validation, so the ALB's
# checks, which carry the task's private IP as Host, still pass.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "*")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "users",
]

MIDDLEWARE = [
    # First: answers /up before host validation and the HTTPS redirect.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# --- Database -------------------------------------------------------------------------
POSTGRES = os.environ.get("DATABASE_ENGINE") == "postgres"  # hakobu sets mysql or postgres
if os.environ.get("DATABASE_HOST") and POSTGRES:
    # psycopg 3 (its binary wheel, libpq inside): the same variables as for MySQL.
    pg_options: dict[str, object] = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3)}
    # PostgreSQL has no client-side read timeout: the server cancels a statement that runs
    # longer instead, which frees the thread the same way.
    if read_timeout := env_int("DATABASE_READ_TIMEOUT", 0):
        pg_options["options"] = f"-c statement_timeout={read_timeout * 1000}"
    # libpq's default (sslmode=prefer) uses TLS whenever the server offers it, as RDS does;
    # with a CA bundle the server's certificate and name are verified too.
    if os.environ.get("DATABASE_SSL_CA"):
        pg_options |= {"sslmode": "verify-full", "sslrootcert": os.environ["DATABASE_SSL_CA"]}
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ["DATABASE_HOST"],
            "PORT": os.environ.get("DATABASE_PORT", "5432"),
            "NAME": os.environ.get("DATABASE_NAME", "app"),
            "USER": os.environ.get("DATABASE_USERNAME", "app"),
            "PASSWORD": os.environ.get("DATABASE_PASSWORD", ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": pg_options,
        }
    }
elif os.environ.get("DATABASE_HOST"):
    # PyMySQL is pure Python: nothing to compile in the image. It stands in for mysqlclient.
    pymysql.install_as_MySQLdb()
    options: dict[str, object] = {
        "charset": "utf8mb4",
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
    }
    # A server that accepts the connection but never answers would hold a thread forever.
    if read_timeout := env_int("DATABASE_READ_TIMEOUT", 0):
        options |= {"read_timeout": read_timeout, "write_timeout": read_timeout}
    # PyMySQL uses TLS whenever the server offers it (RDS always does), which MySQL 8.4's
    # caching_sha2_password needs for a full login. With a CA bundle the server's
    # certificate and name are verified too.
    if os.environ.get("DATABASE_SSL_CA"):
        options |= {"ssl_ca": os.environ["DATABASE_SSL_CA"], "ssl_verify_identity": True}
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ["DATABASE_HOST"],
            "PORT": os.environ.get("DATABASE_PORT", "3306"),
            "NAME": os.environ.get("DATABASE_NAME", "app"),
            "USER": os.environ.get("DATABASE_USERNAME", "app"),
            "PASSWORD": os.environ.get("DATABASE_PASSWORD", ""),
            # Reuse a connection for a minute, checked before reuse after an idle spell.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DJANGO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- HTTPS behind the ALB ---------------------------------------------------------------
# The ALB terminates TLS and tells the app the original scheme in X-Forwarded-Proto. Only
# the ALB can reach the tasks (their security group admits it alone) and it overwrites
# that header, so the header can be trusted.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
HTTPS = env_bool("DJANGO_HTTPS")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Start small; raise it (and consider includeSubDomains) once HTTPS is known to work.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 3600) if HTTPS else 0
# Django 4+ checks a POST's Origin against these when it comes over HTTPS.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- Static files, served by WhiteNoise from gunicorn -------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed file names: browsers may cache them forever.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: everything to stdout, which ECS sends to CloudWatch Logs (/ecs/<app>) -------
LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{levelname} {name}: {message}", "style": "{"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    # Django's own loggers go to the root handler above (errors with their tracebacks)
    # rather than to its default console and admin-mail handlers.
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
