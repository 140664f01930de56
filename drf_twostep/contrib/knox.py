"""``TwoStepKnoxAuthentication``: django-rest-knox's authentication with 2SV enforced."""

from __future__ import annotations

from knox.auth import TokenAuthentication
from rest_framework.authentication import get_authorization_header

from ..authentication import TwoStepEnforcementMixin
from ..issuers import KnoxIssuer


class TwoStepKnoxAuthentication(TwoStepEnforcementMixin, TokenAuthentication):
    """
    ``Authorization: Token <token>`` (knox's ``AUTH_HEADER_PREFIX``), as knox's
    ``TokenAuthentication``; ``request.auth`` is the knox ``AuthToken``. A 2SV user's token
    must be one that ``KnoxIssuer`` issued after the second step.
    """

    def is_verified(self, request, user, auth, state):
        # knox keeps only a digest: the tag is checked on the token the request presented.
        parts = get_authorization_header(request).split()
        return len(parts) == 2 and KnoxIssuer.is_verified(parts[1].decode())
