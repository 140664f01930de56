"""
Settings for the live tests (``tests_live/``): the demo settings, served by gunicorn with
several workers on a database server and a shared Redis cache.

On top of the demo settings: DEBUG off, a fast password hasher, emails written to files in
``LIVE_EMAIL_DIR`` (the tests read the codes sent by email from there), a Redis key prefix per
run, a header naming the worker process that answered, and throttle and lockout limits from
the environment so that races are not cut short by a rate limit unless a test asks for one.
"""

import json
import os

from drf_twostep import settings as twostep

from . import settings as demo
from .settings import *  # noqa: F403

DEBUG = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if demo.REDIS_URL:
    CACHES = {
        "default": {
            **demo.CACHES["default"],
            "KEY_PREFIX": os.environ.get("LIVE_CACHE_PREFIX", "live"),
        }
    }

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("LIVE_EMAIL_DIR", "/tmp/drf-twostep-live-mail")

MIDDLEWARE = ["demo.settings_live.worker_pid_middleware", *demo.MIDDLEWARE]


def worker_pid_middleware(get_response):
    """Add ``X-Worker-Pid``, so that a test can tell which process answered."""
    pid = str(os.getpid())

    def middleware(request):
        response = get_response(request)
        response["X-Worker-Pid"] = pid
        return response

    return middleware


DRF_TWOSTEP = {
    **demo.DRF_TWOSTEP,
    # {"twostep_login": "10/min", ...}: rates a test sets; every other scope is not limited.
    "THROTTLE_RATES": dict.fromkeys(twostep.DEFAULTS["THROTTLE_RATES"], "100000/min")
    | json.loads(os.environ.get("LIVE_THROTTLE_RATES", "{}")),
    "LOCKOUT_THRESHOLD": int(os.environ.get("LIVE_LOCKOUT_THRESHOLD", "25")),
    "NOTIFICATIONS_ENABLED": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Tracebacks of 5xx answers go to gunicorn's error log, where the tests look for them.
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
