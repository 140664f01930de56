"""Test settings: the package's own, not the example project's."""

import os

import django
from django.conf import settings


def _database():
    url = os.environ.get("DATABASE_URL")
    if url:
        import dj_database_url

        db = dj_database_url.parse(url)
        db.setdefault("TEST", {})
        # The scratch database's name when "test_" and the URL's will not do (a shared server).
        if os.environ.get("DATABASE_TEST_NAME"):
            db["TEST"]["NAME"] = os.environ["DATABASE_TEST_NAME"]
        return db
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


def _default_cache():
    # DRF_TWOSTEP_TEST_REDIS_URL runs the whole suite (throttles, codes, enforcement) on Redis.
    url = os.environ.get("DRF_TWOSTEP_TEST_REDIS_URL")
    if url:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"drf-twostep-suite-{os.getpid()}",
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def _optional_apps():
    # The apps of the optional issuers, when their packages are installed (tests/test_issuers.py
    # skips the issuers whose packages are not).
    from importlib.util import find_spec

    apps = []
    if find_spec("rest_framework_simplejwt"):
        apps.append("rest_framework_simplejwt.token_blacklist")
    if find_spec("knox"):
        apps.append("knox")
    return apps


def pytest_configure(config):
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-not-secret-" + "x" * 40,
        DATABASES={"default": _database()},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.admin",
            "rest_framework",
            "rest_framework.authtoken",
            "drf_spectacular",
            "drf_twostep",
            "tests.testapp",
            *_optional_apps(),
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="tests.urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CACHES={"default": _default_cache()},
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        USE_TZ=True,
        TIME_ZONE="UTC",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "drf_twostep.authentication.TwoStepTokenAuthentication",
                "drf_twostep.authentication.TwoStepSessionAuthentication",
            ],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "EXCEPTION_HANDLER": "drf_twostep.exceptions.exception_handler",
            # The package's views read JSON only (multipart is 415).
            "TEST_REQUEST_DEFAULT_FORMAT": "json",
        },
        DRF_TWOSTEP={
            "ISSUER_NAME": "Test Clinic",
            "SMS_BACKEND": "drf_twostep.sms.backends.locmem.SmsBackend",
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


# -- fixtures ------------------------------------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _clear_sms_outbox():
    from drf_twostep import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def password():
    from tests.helpers import PASSWORD

    return PASSWORD


@pytest.fixture
def user(db):
    from django.contrib.auth import get_user_model

    from tests.helpers import PASSWORD

    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(db):
    from django.contrib.auth import get_user_model

    from tests.helpers import PASSWORD

    return get_user_model().objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def clock():
    """Server time frozen at a fixed instant in the middle of a TOTP step; ``clock.shift(s)``."""
    import time_machine

    with time_machine.travel(1_800_000_015, tick=False) as traveller:
        yield traveller


@pytest.fixture
def user_with_totp(api, user, clock):
    """alice with an authenticator app confirmed; yields a TwoStepUser helper."""
    from tests.helpers import enable_totp

    return enable_totp(api, user, clock)
