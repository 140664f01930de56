"""Permissions for sensitive views: a recent second step."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.permissions import BasePermission

from .enforcement import get_state
from .exceptions import ReverificationRequired


class RecentlyVerified(BasePermission):
    """
    Allow a request only if its credential passed a second step (the sign-in, or
    ``two-step/reverify/``) in the last ``max_age`` seconds (default 300); else 403
    ``reverification_required`` with ``max_age`` in the body. For a shorter or longer age on a
    view: ``permission_classes = [IsAuthenticated, RecentlyVerified.within(60)]``.

    Only credentials of the package's enforcing authentication classes can tell when they
    were verified; others are refused. Reading the time costs no query: it comes with the
    credential or its 2SV state.
    """

    max_age = 300

    @classmethod
    def within(cls, seconds: int) -> type[RecentlyVerified]:
        """This permission with ``max_age`` = ``seconds``."""
        return type(f"RecentlyVerifiedWithin{seconds}", (cls,), {"max_age": seconds})

    def has_permission(self, request, view):
        if not verified_within(request, self.max_age):
            raise ReverificationRequired(self.max_age)
        return True


def verified_at(request):
    """When the request's credential last passed a second step (None: never, or a credential
    of another authentication class)."""
    issuer_class = getattr(getattr(request, "successful_authenticator", None), "issuer_class", None)
    user = getattr(request, "user", None)
    if issuer_class is None or user is None or not user.is_authenticated:
        return None
    return issuer_class().verified_at(request, request.auth, get_state(user))


def verified_within(request, max_age: int) -> bool:
    at = verified_at(request)
    return at is not None and timezone.now() - at <= timedelta(seconds=max_age)
