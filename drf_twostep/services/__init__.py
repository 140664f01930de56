"""
The flows of 2-Step Verification: sign in, verify, set up, confirm, remove, recover.

Views, the admin and the management commands call these, and nothing else changes state. Each
flow runs in a transaction, takes row locks where state is checked and changed, records its
security events and sends its signals and notifications, once each.
"""

from ..enforcement import refresh_all
from ._common import record_event
from .housekeeping import delete_expired
from .login import login, logout, verify_login
from .methods import (
    begin_setup,
    confirm_method,
    delete_method,
    remove_method,
    update_method,
)
from .organizations import (
    admin_organization,
    delete_policy,
    get_policy,
    mark_compliance,
    organization_members,
    policy_body,
    reset_member,
    reset_two_step,
    update_policy,
)
from .passkeys import passwordless_login, passwordless_options
from .recovery import recovery_codes_pdf, regenerate_recovery_codes
from .reverify import reverify, reverify_passkey_options
from .second_step import send_login_code, start_second_step
from .status import status

__all__ = [
    "admin_organization",
    "begin_setup",
    "confirm_method",
    "delete_method",
    "delete_policy",
    "delete_expired",
    "get_policy",
    "login",
    "logout",
    "mark_compliance",
    "organization_members",
    "passwordless_login",
    "passwordless_options",
    "policy_body",
    "record_event",
    "recovery_codes_pdf",
    "refresh_all",
    "regenerate_recovery_codes",
    "remove_method",
    "reset_member",
    "reset_two_step",
    "reverify",
    "reverify_passkey_options",
    "send_login_code",
    "start_second_step",
    "status",
    "update_method",
    "update_policy",
    "verify_login",
]
