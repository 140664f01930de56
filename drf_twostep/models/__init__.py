"""
Models: a user's methods, recovery codes, login challenges, per-user state and security events.

Behaviour lives in ``services`` and ``methods``; models hold data, small queries and the
invariants that the database can check.
"""

from .events import SecurityEvent
from .login import LoginChallenge
from .methods import DeliveredCode, RecoveryCode, TwoStepMethod, TwoStepMethodQuerySet
from .organizations import OrganizationPolicy, organization_model_label
from .passkeys import PasskeyChallenge, PasskeyCredential, PasskeyUserHandle
from .profile import TwoStepProfile, TwoStepSession

__all__ = [
    "DeliveredCode",
    "LoginChallenge",
    "OrganizationPolicy",
    "PasskeyChallenge",
    "PasskeyCredential",
    "PasskeyUserHandle",
    "RecoveryCode",
    "SecurityEvent",
    "TwoStepMethod",
    "TwoStepMethodQuerySet",
    "TwoStepProfile",
    "TwoStepSession",
    "organization_model_label",
]
