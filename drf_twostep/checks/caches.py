"""The checks of the caches the throttles and the enforcement cache count in."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from ..settings import DEFAULTS, SETTINGS_NAME

# Cache backends that keep their data inside one process.
_PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, Tags.caches, "drf_twostep", deploy=True)
def check_throttle_cache(app_configs=None, **kwargs):
    """
    drf_twostep.W001 (``check --deploy``, DEBUG off): the throttles count requests in Django's
    default cache. A per-process cache gives every worker process its own count (LocMemCache),
    or keeps none (DummyCache), so the rate limits do not hold.
    """
    if settings.DEBUG:
        return []
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    rates = user_settings.get("THROTTLE_RATES", {}) if isinstance(user_settings, dict) else {}
    if isinstance(rates, dict) and not any({**DEFAULTS["THROTTLE_RATES"], **rates}.values()):
        return []  # no throttle is on
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            f"drf_twostep's throttles count requests in the default cache, {backend}, which "
            "each process keeps to itself: with several worker processes or servers the "
            "rate limits do not hold.",
            hint=(
                "Make CACHES['default'] a cache that all processes share (Redis, Memcached, "
                "the database cache)."
            ),
            id="drf_twostep.W001",
        )
    ]


_REDIS_SOCKET_TIMEOUT = {
    "django.core.cache.backends.redis.RedisCache": "socket_timeout",
    "django_redis.cache.RedisCache": "SOCKET_TIMEOUT",
}


@register(Tags.caches, "drf_twostep")
def check_redis_timeouts(app_configs=None, **kwargs):
    """
    drf_twostep.W005: a Redis cache the package uses (the default cache, where the throttles
    count, and ENFORCEMENT_CACHE) without a socket timeout. Without one, a Redis that hangs
    (paused, or a network that drops packets) holds every throttled or cached request for as
    long as the operating system waits, instead of the package's fail mode after a moment.
    """
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    aliases = {"default"}
    if isinstance(user_settings, dict) and user_settings.get("ENFORCEMENT_CACHE"):
        aliases.add(user_settings["ENFORCEMENT_CACHE"])
    warnings = []
    for alias in sorted(aliases):
        cache = settings.CACHES.get(alias) or {}
        option = _REDIS_SOCKET_TIMEOUT.get(cache.get("BACKEND", ""))
        if option is None or (cache.get("OPTIONS") or {}).get(option):
            continue
        connect = option.replace("socket_", "socket_connect_").replace("SOCKET_", "SOCKET_CONNECT_")
        warnings.append(
            Warning(
                f"CACHES[{alias!r}] is a Redis cache without OPTIONS[{option!r}]: while Redis "
                "hangs, every request that uses it waits without a bound.",
                hint=f"Set OPTIONS {{{option!r}: 0.25, {connect!r}: 0.25}} (seconds), or what "
                "your network needs.",
                id="drf_twostep.W005",
            )
        )
    return warnings
