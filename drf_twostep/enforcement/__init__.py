"""
The enforcement state: what the authentication classes check on every request.

A user's state is three columns of their ``TwoStepProfile``: ``enabled``, the marker of the
credential that passed the second step, and ``setup_required_from``, from when an
organization's requirement that their active methods do not meet applies. The flows keep it
current: ``refresh(user)`` after the user's methods or memberships change,
``refresh_members(organization)`` after a policy changes, ``refresh_all()`` as the safety net
of ``twostep_refresh``. Memberships saved, deleted, added or removed with the ORM are seen by
receivers on the models the adapter names (``get_memberships``), and policies by receivers on
``OrganizationPolicy``. The authentication classes read the row with the credential
(``select_related``), else from ``ENFORCEMENT_CACHE``, else by primary key.
"""

from . import receivers  # noqa: F401  (connects the receivers)
from .receivers import watch
from .requirement import Requirement, get_requirement, unmet_from
from .rows import refresh, refresh_all, refresh_members, refresh_users
from .state import (
    NO_PROFILE,
    EnforcementState,
    get_state,
    invalidate,
    invalidate_all,
    must_set_up,
    required_as_staff,
)

__all__ = [
    "NO_PROFILE",
    "EnforcementState",
    "Requirement",
    "get_requirement",
    "get_state",
    "invalidate",
    "invalidate_all",
    "must_set_up",
    "refresh",
    "refresh_all",
    "refresh_members",
    "refresh_users",
    "required_as_staff",
    "unmet_from",
    "watch",
]
