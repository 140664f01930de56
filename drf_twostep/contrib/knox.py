"""``TwoStepKnoxAuthentication``: django-rest-knox's authentication with 2SV enforced."""

from __future__ import annotations

from knox.auth import TokenAuthentication

from ..authentication import TwoStepEnforcementMixin
from ..issuers import KnoxIssuer


class TwoStepKnoxAuthentication(TwoStepEnforcementMixin, TokenAuthentication):
    """
    ``Authorization: Token <token>`` (knox's ``AUTH_HEADER_PREFIX``), as knox's
    ``TokenAuthentication``; ``request.auth`` is the knox ``AuthToken``. A 2SV user's token
    must be one that ``KnoxIssuer`` issued after the second step.
    """

    issuer_class = KnoxIssuer
