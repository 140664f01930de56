"""System checks for the ``DRF_TWOSTEP`` settings, registered as this package is imported."""

from .caches import check_redis_timeouts, check_throttle_cache
from .configuration import check_exception_handler, check_issuer_is_enforced, check_settings
from .passkeys import check_passkeys
from .urls import check_admin_sites, check_password_only_token_views

__all__ = [
    "check_admin_sites",
    "check_exception_handler",
    "check_issuer_is_enforced",
    "check_passkeys",
    "check_password_only_token_views",
    "check_redis_timeouts",
    "check_settings",
    "check_throttle_cache",
]
