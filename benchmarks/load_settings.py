"""
The example project's settings for the load test: DEBUG off, the password hasher that
``BENCH_LOAD_HASHER`` names (``md5``: Django's MD5 hasher, fast, benchmark only, the default;
``default``: Django's own ``PASSWORD_HASHERS``, PBKDF2 first), throttles out of the way and the
two trivial views of ``load_urls``. DATABASE_URL and REDIS_URL are read as the example project
reads them.
"""

import os

from demo.settings import *  # noqa: F403
from demo.settings import DRF_TWOSTEP
from django.core.exceptions import ImproperlyConfigured

from .micro import FAST_RATES

DEBUG = False
HASHER = os.environ.get("BENCH_LOAD_HASHER", "md5")
if HASHER == "md5":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
elif HASHER != "default":  # "default": the example project's, which are Django's own
    raise ImproperlyConfigured(f"BENCH_LOAD_HASHER is md5 or default, not {HASHER!r}")
ROOT_URLCONF = "benchmarks.load_urls"
DRF_TWOSTEP = {**DRF_TWOSTEP, "THROTTLE_RATES": FAST_RATES}
# Notification emails go to the console backend, whose output the load test discards.
LOGGING = {"version": 1, "disable_existing_loggers": False}
