"""
The example project's settings for the load test: DEBUG off, a fast password hasher (MD5,
benchmark only), throttles out of the way and the two trivial views of ``load_urls``.
DATABASE_URL and REDIS_URL are read as the example project reads them.
"""

from demo.settings import *  # noqa: F403
from demo.settings import DRF_TWOSTEP

from .micro import FAST_RATES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "benchmarks.load_urls"
DRF_TWOSTEP = {**DRF_TWOSTEP, "THROTTLE_RATES": FAST_RATES}
# Notification emails go to the console backend, whose output the load test discards.
LOGGING = {"version": 1, "disable_existing_loggers": False}
