"""
Settings of the drf-twostep example project. For development only: DEBUG is on and the
SECRET_KEY has a fallback that is printed in this file.

SQLite (``example_project/db.sqlite3``) by default; set ``DATABASE_URL`` (for example
``postgres://postgres@127.0.0.1:5432/demo``) to use another database, and ``REDIS_URL`` (for
example ``redis://127.0.0.1:6379/0``) to share the cache between worker processes.
"""

import json
import os
from pathlib import Path

import dj_database_url

import drf_twostep

BASE_DIR = Path(__file__).resolve().parent.parent
# The port the demo serves on (make demo PORT=...), for the passkeys' default origin.
PORT = os.environ.get("PORT", "8000")

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-drf-twostep-demo-only-do-not-deploy"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_twostep",
    "clinics",
    "webapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Answers, emails and the recovery-code PDF in the language of Accept-Language: after the
    # session (which may hold a chosen language), before CommonMiddleware (which may redirect).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=600,
        # A persistent connection the server closed (a restart, pg_terminate_backend) is
        # noticed before the request uses it, not by the request failing.
        conn_health_checks=True,
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
# English and the languages drf-twostep ships (drf_twostep/locale/).
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pt-br", "Português (Brasil)"),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# One cache per process unless REDIS_URL is set. With several worker processes (gunicorn) set
# it, so that throttles and the enforcement cache hold across them.
REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that is down or hangs costs a request at most a quarter of a second
            # before the package's fail modes apply (docs/operations.md), not minutes.
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }

# Notification emails (method added, recovery code used, ...) are printed by runserver.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "drf-twostep demo <noreply@example.com>"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "drf_twostep.authentication.TwoStepTokenAuthentication",
        "drf_twostep.authentication.TwoStepSessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_twostep.exceptions.exception_handler",
}

DRF_TWOSTEP = {
    "ISSUER_NAME": "drf-twostep demo",
    # Clinics can require 2SV of their members (seed_demo makes "Demo Clinic" require it).
    # Like AUTH_USER_MODEL, this is chosen before the first migrate.
    "ORGANIZATION_MODEL": "clinics.Clinic",
    "ADAPTER": "clinics.adapter.ClinicAdapter",
    # Text messages with codes are printed by runserver, like the emails above.
    "SMS_BACKEND": "drf_twostep.sms.backends.console.SmsBackend",
    # With a shared cache, enforcement costs no query on a warm request.
    "ENFORCEMENT_CACHE": "default" if REDIS_URL else None,
    # "Remember this device" on the sign-in page: for 30 days after a second step.
    "REMEMBER_DEVICE_DAYS": 30,
    # The package's throttle rates, with any given as JSON in DEMO_THROTTLE_RATES (the browser
    # suite, whose sign-ins all come from one address, raises the sign-in rates so).
    "THROTTLE_RATES": json.loads(os.environ.get("DEMO_THROTTLE_RATES", "{}")),
    # Passkeys (the passkeys extra, which make demo installs): the RP ID and the origins they
    # may be used from (comma-separated). An RP ID of localhost serves http://localhost only,
    # not http://127.0.0.1: open the demo at localhost to use passkeys.
    "WEBAUTHN_RP_ID": os.environ.get("WEBAUTHN_RP_ID", "localhost"),
    "WEBAUTHN_ORIGINS": [
        origin.strip()
        for origin in os.environ.get("WEBAUTHN_ORIGINS", f"http://localhost:{PORT}").split(",")
        if origin.strip()
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "drf-twostep demo API",
    "DESCRIPTION": (
        "The example project of drf-twostep. Sign in with `POST /api/auth/login/`, then "
        "click Authorize and enter `Token <key>`."
    ),
    "VERSION": drf_twostep.__version__,
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc are served from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}
