"""The checks of what the URLconf routes: password-only token views and admin sites."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..settings import DEFAULTS, SETTINGS_NAME


def _from_urlconf(walk) -> list:
    """What ``walk`` yields from the project's URL patterns; nothing from a broken URLconf
    (Django's own check reports it)."""
    from django.urls import get_resolver

    try:
        return list(walk(get_resolver().url_patterns))
    except Exception:  # noqa: BLE001
        return []


def _routed_views(patterns, prefix=""):
    """``(route, view class)`` for every class-based view the URL patterns reach."""
    from django.urls import URLPattern, URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routed_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "cls", None) or getattr(
                entry.callback, "view_class", None
            )
            if view_class is not None:
                yield prefix + str(entry.pattern), view_class


@register(Tags.security, Tags.urls, "drf_twostep")
def check_password_only_token_views(app_configs=None, **kwargs):
    """
    DRF's ``obtain_auth_token`` hands out the user's one ``Token`` for a password alone. With the
    default issuer that is the same token that passed the second step, so routing both would let
    a password stand in for the second step.
    """

    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    issuer = user_settings.get("TOKEN_ISSUER") if isinstance(user_settings, dict) else None
    if issuer not in (None, DEFAULTS["TOKEN_ISSUER"]) or not apps.is_installed(
        "rest_framework.authtoken"
    ):
        return []
    from rest_framework.authtoken.views import ObtainAuthToken

    routes = _from_urlconf(_routed_views)
    return [
        Error(
            f"DRF's password-only ObtainAuthToken is routed at {route!r}.",
            hint=(
                "It returns the token that drf_twostep's login marked as having passed the "
                "second step, for a password alone. Remove the route and sign in through "
                "drf_twostep's login/ and login/verify/."
            ),
            obj=view_class,
            id="drf_twostep.E009",
        )
        for route, view_class in routes
        if issubclass(view_class, ObtainAuthToken)
    ]


def _admin_sites_routed(patterns):
    """The namespaces under which the URL patterns route an admin site's URLs."""
    from django.urls import URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" and entry.namespace:
                yield entry.namespace
            yield from _admin_sites_routed(entry.url_patterns)


@register(Tags.security, Tags.admin, "drf_twostep", deploy=True)
def check_admin_sites(app_configs=None, **kwargs):
    """
    drf_twostep.W006 (``check --deploy``): an admin site routed in the URLconf whose login is
    the password alone (not a ``TwoStepAdminSiteMixin`` site), so a staff user with 2SV on, or
    one who must have it, opens it without a second step.
    """
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin.sites import all_sites

    from ..admin_site import is_two_step

    routed = set(_from_urlconf(_admin_sites_routed))
    return [
        Warning(
            f"The admin site {site.name!r} ({type(site).__module__}.{type(site).__qualname__}) "
            "signs staff in with the password alone.",
            hint=(
                "Mix drf_twostep.admin_site.TwoStepAdminSiteMixin into its class, or use "
                "drf_twostep.admin_site.TwoStepAdminSite; for the default site, leave "
                "DRF_TWOSTEP['ADMIN_TWO_STEP'] on."
            ),
            obj=site,
            id="drf_twostep.W006",
        )
        for site in sorted(all_sites, key=lambda s: s.name)
        if site.name in routed and not is_two_step(site)
    ]
