"""
Credential issuers: what a completed login hands out, and how it is revoked.

``DRF_TWOSTEP["TOKEN_ISSUER"]`` names the class. The default issues DRF authtoken tokens;
``SimpleJWTIssuer``, ``KnoxIssuer`` and ``SessionIssuer`` issue Simple JWT tokens, knox tokens
and Django sessions. Each is enforced by its authentication class (docs/issuers.md). The
Simple JWT and knox packages are imported only when their issuer is used.
"""

from ..settings import twostep_settings
from .base import AMR_PASSWORD, AMR_SECOND_STEP, AMR_SECOND_STEPS, BaseIssuer
from .jwt import SimpleJWTIssuer
from .session import SessionIssuer, mark_session_verified
from .tokens import AuthTokenIssuer, KnoxIssuer

__all__ = [
    "AMR_PASSWORD",
    "AMR_SECOND_STEP",
    "AMR_SECOND_STEPS",
    "AuthTokenIssuer",
    "BaseIssuer",
    "KnoxIssuer",
    "SessionIssuer",
    "SimpleJWTIssuer",
    "get_issuer",
    "mark_session_verified",
]


def get_issuer() -> BaseIssuer:
    return twostep_settings.TOKEN_ISSUER()
