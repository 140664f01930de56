"""``TwoStepJWTAuthentication``: Simple JWT's authentication with 2SV enforced."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication

from ..authentication import TwoStepEnforcementMixin
from ..issuers import SimpleJWTIssuer


class TwoStepJWTAuthentication(TwoStepEnforcementMixin, JWTAuthentication):
    """
    ``Authorization: Bearer <access token>``, as Simple JWT's ``JWTAuthentication``;
    ``request.auth`` is the validated token. A 2SV user's token must record the second step
    (``"otp"``, ``"hwk"`` or ``"swk"`` in its ``amr`` claim), as the tokens of
    ``SimpleJWTIssuer`` do after it.
    """

    issuer_class = SimpleJWTIssuer
