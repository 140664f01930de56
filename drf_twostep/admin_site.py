"""
Two steps at the Django admin's login: the password, then a code (authenticator app, SMS,
email), a passkey or a recovery code, through the same flows, lockout and throttles as the
API.

With drf-twostep installed the default site (``django.contrib.admin.site``) gets this login at
start-up, so a project changes no URLs (``ADMIN_TWO_STEP`` turns it off). A project's own
``AdminSite`` subclass mixes in ``TwoStepAdminSiteMixin``, or uses ``TwoStepAdminSite``.

Beyond the login, every admin page asks of the session what the API asks of a credential: a
user with 2SV on must have passed the second step in this session, and a user who must have
2SV and has none (an organization's requirement, grace period included, or
``REQUIRED_FOR_STAFF``) is not let in. A session signed in elsewhere with the password alone
does not open the admin.
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.forms.utils import ErrorDict
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import Throttled

from . import services
from .adapter import get_adapter
from .crypto import digest
from .enforcement import get_state, must_set_up, required_as_staff
from .exceptions import ChallengeExpired, InvalidChallenge, TwoStepError
from .forms import AdminCodeForm
from .issuers import SessionIssuer
from .methods import get_method
from .models import LoginChallenge
from .services._common import active_methods
from .services.passkey_steps import challenge_options
from .throttling import LoginThrottle, SendCodeThrottle, VerifyThrottle

# Session key of the login challenge between the password and the code (the raw value: the
# browser that gave the password holds it, as an API client holds its challenge).
ADMIN_CHALLENGE_KEY = "_drf_twostep_admin_challenge"


def admin_access_allowed(request) -> bool:
    """
    Whether the request's session may open the admin as far as 2SV goes: a user with 2SV on
    passed the second step in this session and meets their organizations' requirements; a
    user without 2SV has no requirement (none of their organizations requires it, not even in
    a grace period, and ``REQUIRED_FOR_STAFF`` does not apply). One query (the user's 2SV
    state), none with ``ENFORCEMENT_CACHE`` warm.
    """
    user = request.user
    state = get_state(user)
    if state.enabled:
        return SessionIssuer().is_verified(request, None, state) and not must_set_up(user, state)
    return not required_by_anyone(user, state)


def required_by_anyone(user, state) -> bool:
    """Whether ``user`` must have 2SV now or after a grace period (read from ``state``)."""
    return state.setup_required_from is not None or required_as_staff(user)


def refusal_message(request, user) -> str:
    """What a user who must have 2SV and has none (or none that counts) is told."""
    message = _(
        "Your account must use 2-Step Verification before it can open the admin site. "
        "Set it up first, then sign in here again."
    )
    url = get_adapter().get_two_step_setup_url(request, user)
    if url:
        message += " " + _("Set it up at %(url)s") % {"url": url}
    return message


def error_text(exc) -> str:
    """The ``detail`` of one of the package's errors, or of a throttle's."""
    detail = exc.detail
    if isinstance(detail, dict):
        detail = detail.get("detail", "")
    return str(detail)


class TwoStepLoginView(LoginView):
    """
    Django's ``LoginView`` with the admin's form for the password; then, for a user with 2SV
    on, the second step (``services.verify_login`` with ``SessionIssuer``: the lockout, the
    events and the verified session of the API's flow).
    """

    site: AdminSite | None = None  # the site whose login this is (set by its login())
    verify_template_name = "drf_twostep/admin/verify.html"
    recovery_code_template_name = "drf_twostep/admin/recovery_code.html"

    def post(self, request, *args, **kwargs):
        step = request.POST.get("twostep_step")
        raw = request.session.get(ADMIN_CHALLENGE_KEY)
        if step == "code" and isinstance(raw, str):
            return self.second_step(request, raw, send=bool(request.POST.get("twostep_send")))
        throttle = LoginThrottle()
        if not throttle.allow_request(request, self):
            # Refused before the password is checked.
            form = self.password_form_with(error_text(Throttled(wait=throttle.wait())))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def password_form_with(self, message):
        """An unchecked password form that shows ``message`` (the username kept)."""
        form = self.get_form_class()(
            self.request, initial={"username": self.request.POST.get("username", "")}
        )
        form.cleaned_data = {}
        form._errors = ErrorDict()
        form.add_error(None, message)
        return form

    # -- the password ------------------------------------------------------------------------

    def form_valid(self, form):
        user = form.get_user()
        state = get_state(user)
        if state.enabled:
            if must_set_up(user, state):
                return self.refuse(form, user)
            answer = services.start_second_step(self.request, user)
            self.request.session[ADMIN_CHALLENGE_KEY] = answer["challenge"]
            return self.render_second_step(
                answer["challenge"], user, default=answer["default_method"], extra=answer
            )
        if required_by_anyone(user, state):
            return self.refuse(form, user)
        SessionIssuer().issue(self.request, user, verified=False)
        return HttpResponseRedirect(self.get_success_url())

    def refuse(self, form, user):
        form.add_error(None, refusal_message(self.request, user))
        return self.form_invalid(form)

    # -- the second step ---------------------------------------------------------------------

    def second_step(self, request, raw, *, send):
        challenge = LoginChallenge.objects.select_related("user").filter(digest=digest(raw)).first()
        if challenge is None:
            return self.restart(InvalidChallenge())
        form = AdminCodeForm(request.POST, methods=active_methods(challenge.user))
        throttle = SendCodeThrottle() if send else VerifyThrottle()
        again = {"challenge": challenge, "form": form}  # the page shown again
        if not throttle.allow_request(request, self):
            form.add_error(None, error_text(Throttled(wait=throttle.wait())))
            return self.render_second_step(raw, challenge.user, status=429, **again)
        if not form.is_valid():
            return self.render_second_step(raw, challenge.user, **again)
        data = form.cleaned_data
        try:
            if send:
                services.send_login_code(request, raw, data["method"])
                again["form"] = AdminCodeForm(
                    initial={"method": data["method"]}, methods=form.all_methods
                )
                return self.render_second_step(raw, challenge.user, sent=True, **again)
            result = services.verify_login(
                request,
                raw,
                code=data["code"] or None,
                method_id=data["method"],
                recovery_code=data["recovery_code"] or None,
                credential=data["credential"] or None,
                issuer=SessionIssuer(),
            )
        except (InvalidChallenge, ChallengeExpired) as exc:
            return self.restart(exc)
        except (TwoStepError, Throttled) as exc:
            form.add_error(None, error_text(exc))
            status = exc.status_code if exc.status_code == 429 else 200
            return self.render_second_step(raw, challenge.user, status=status, **again)
        request.session.pop(ADMIN_CHALLENGE_KEY, None)
        if result.get("recovery_codes"):
            return TemplateResponse(
                request,
                self.recovery_code_template_name,
                {
                    **self.get_context_data(),
                    "recovery_codes": result["recovery_codes"],
                    "next_url": self.get_success_url(),
                },
            )
        if not self.site.has_permission(request):
            # 2SV passed, but the admin still refuses (no longer staff, say): its own message.
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(self.get_success_url())

    def restart(self, exc):
        """Back to the password, with why (the challenge expired or is used up)."""
        self.request.session.pop(ADMIN_CHALLENGE_KEY, None)
        form = self.password_form_with(error_text(exc))
        return self.render_to_response(self.get_context_data(form=form))

    def render_second_step(
        self,
        raw,
        user,
        *,
        form=None,
        default=None,
        sent=False,
        extra=None,
        challenge=None,
        status=200,
    ):
        """The second step's page: with the start's answer (``extra``), or shown again for
        ``challenge``, whose passkey options are then made anew (the earlier ones stop
        working)."""
        methods = form.all_methods if form is not None else active_methods(user)
        if form is None:
            form = AdminCodeForm(initial={"method": default}, methods=methods)
        if extra is None and challenge is not None:
            with transaction.atomic():
                extra = challenge_options(challenge, methods, replace=True)
        chosen = form["method"].value()
        sending = [m.pk for m in form.methods if getattr(get_method(m), "sends_code", False)]
        context = {
            **self.get_context_data(form=form),
            "code_form": form,
            "code_sent": sent,
            "sending_methods": sending,
            "chosen_method": chosen,
            # The request options of the challenge when the user has a passkey (the block
            # ``twostep_passkey`` of drf_twostep/admin/verify.html offers it).
            "passkey_options": (extra or {}).get("passkey"),
        }
        return TemplateResponse(self.request, self.verify_template_name, context, status=status)


class TwoStepAdminSiteMixin:
    """
    Mix into an ``AdminSite`` subclass (before ``AdminSite``) for the two-step login and the
    2SV check on every admin page::

        class MyAdminSite(TwoStepAdminSiteMixin, admin.AdminSite):
            ...
    """

    login_view_class = TwoStepLoginView

    def has_permission(self, request):
        return super().has_permission(request) and admin_access_allowed(request)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return self.login_view_class.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
            # Where an unsafe or missing ``next`` leads: this site's index.
            next_page=reverse("admin:index", current_app=self.name),
            site=self,
        )(request)


class TwoStepAdminSite(TwoStepAdminSiteMixin, AdminSite):
    """An ``AdminSite`` with the two-step login (for ``AdminConfig.default_site`` or a
    project's own site instance)."""


_two_step_classes: dict[type, type] = {}


def two_step_class(cls: type) -> type:
    """``cls`` (an ``AdminSite`` subclass) with ``TwoStepAdminSiteMixin`` mixed in."""
    if issubclass(cls, TwoStepAdminSiteMixin):
        return cls
    if cls not in _two_step_classes:
        _two_step_classes[cls] = type(
            cls.__name__, (TwoStepAdminSiteMixin, cls), {"__module__": cls.__module__}
        )
    return _two_step_classes[cls]


def protect_default_site() -> None:
    """Give ``django.contrib.admin.site`` (whatever its class) the two-step login: its class
    becomes the same class with ``TwoStepAdminSiteMixin`` mixed in. Its URLs, registered
    models and name stay as they are."""
    from django.contrib.admin import sites

    site = sites.site
    site.__class__ = two_step_class(site.__class__)


def is_two_step(site) -> bool:
    return isinstance(site, TwoStepAdminSiteMixin)


__all__ = [
    "TwoStepAdminSite",
    "TwoStepAdminSiteMixin",
    "TwoStepLoginView",
    "admin_access_allowed",
    "protect_default_site",
]
