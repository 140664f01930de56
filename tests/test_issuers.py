"""
The credential issuers (docs/issuers.md): the whole sign-in through each one, with its
authentication class as the project's only one; revocation on 2SV changes and logout; what an
enforced request costs; the response hook; the optional packages' checks and schema.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from importlib.util import find_spec

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.checks import run_checks
from django.test import override_settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient
from rest_framework.views import APIView

from drf_twostep import services
from drf_twostep.adapter import DefaultTwoStepAdapter
from drf_twostep.models import OrganizationPolicy
from tests.helpers import AUTH, PASSWORD, assert_error, login, start_setup, totp_from_uri, verify

ME = "/api/me/"
HAS_JWT = find_spec("rest_framework_simplejwt") is not None
HAS_KNOX = find_spec("knox") is not None
needs_jwt = pytest.mark.skipif(
    not HAS_JWT,
    reason="djangorestframework-simplejwt is not installed (pip install 'drf-twostep[jwt]')",
)
needs_knox = pytest.mark.skipif(
    not HAS_KNOX, reason="django-rest-knox is not installed (pip install 'drf-twostep[knox]')"
)


@dataclass(frozen=True)
class Stack:
    """An issuer, the authentication class that enforces its credentials, and how a client
    presents them."""

    name: str
    issuer: str
    authentication: str
    header: str | None  # Authorization scheme; None: the session cookie
    # An anonymous request's status: DRF answers 401 where the class names a scheme for
    # WWW-Authenticate, else 403 (sessions).
    unauthenticated: int = 401

    def client(self, api, body) -> APIClient:
        """A client that presents the credential of response ``body`` (``api``: the client
        that received it, which holds the session cookie)."""
        if self.header is None:
            assert body["token"] is None
            return api
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{self.header} {body['token']}")
        return client


AUTHTOKEN = Stack(
    "authtoken",
    "drf_twostep.issuers.AuthTokenIssuer",
    "drf_twostep.authentication.TwoStepTokenAuthentication",
    "Token",
)
JWT = Stack(
    "jwt",
    "drf_twostep.issuers.SimpleJWTIssuer",
    "drf_twostep.authentication.TwoStepJWTAuthentication",
    "Bearer",
)
KNOX = Stack(
    "knox",
    "drf_twostep.issuers.KnoxIssuer",
    "drf_twostep.authentication.TwoStepKnoxAuthentication",
    "Token",
)
SESSION = Stack(
    "session",
    "drf_twostep.issuers.SessionIssuer",
    "drf_twostep.authentication.TwoStepSessionAuthentication",
    None,
    unauthenticated=403,
)
STACKS = [
    pytest.param(AUTHTOKEN, id="authtoken"),
    pytest.param(JWT, id="jwt", marks=needs_jwt),
    pytest.param(KNOX, id="knox", marks=needs_knox),
    pytest.param(SESSION, id="session"),
]


def use(stack, settings, monkeypatch, **extra):
    """Configure the project for ``stack``: its issuer, and its authentication class as the
    only one. DRF binds DEFAULT_AUTHENTICATION_CLASSES to APIView when it is imported, so the
    class attribute is what a project's setting amounts to."""
    from django.utils.module_loading import import_string

    settings.DRF_TWOSTEP = {
        **django_settings.DRF_TWOSTEP,
        "TOKEN_ISSUER": stack.issuer,
        **extra,
    }
    monkeypatch.setattr(APIView, "authentication_classes", [import_string(stack.authentication)])


@pytest.fixture(params=STACKS)
def stack(request, settings, monkeypatch):
    use(request.param, settings, monkeypatch)
    return request.param


@pytest.fixture
def with_jwt(settings, monkeypatch):
    """The project on Simple JWT (skipped without it)."""
    if not HAS_JWT:
        pytest.skip(needs_jwt.kwargs["reason"])
    use(JWT, settings, monkeypatch)


@pytest.fixture
def with_knox(settings, monkeypatch):
    """The project on knox (skipped without it)."""
    if not HAS_KNOX:
        pytest.skip(needs_knox.kwargs["reason"])
    use(KNOX, settings, monkeypatch)


@pytest.fixture
def with_sessions(settings, monkeypatch):
    use(SESSION, settings, monkeypatch)


def confirm_new_method(client):
    """Set up an authenticator app through ``client`` and confirm it; (response, TOTP)."""
    setup = start_setup(client)
    assert setup.status_code == 201, setup.content
    totp = totp_from_uri(setup.json()["otpauth_uri"])
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup.json()['id']}/confirm/",
        {"code": totp.now()},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    return confirmed, totp


def turn_two_step_on(stack, clock):
    """Sign in with the password alone, turn 2SV on; (client with the new credential, TOTP)."""
    api = APIClient()
    signed_in = login(api)
    assert signed_in.json()["status"] == "authenticated"
    client = stack.client(api, signed_in.json())
    confirmed, totp = confirm_new_method(client)
    clock.shift(totp.interval)  # the confirmation used this step's code
    return stack.client(client, confirmed.json()), totp


def sign_in_with_password(stack):
    """A client holding a credential from the password alone (a user without 2SV)."""
    api = APIClient()
    body = login(api).json()
    assert body["status"] == "authenticated", body
    return stack.client(api, body)


def sign_in_on_two_devices(stack, totp, clock):
    """Two sign-ins with a code, a time step apart: two (client, body) pairs."""
    first = sign_in_with_code(stack, totp)
    clock.shift(totp.interval)
    return first, sign_in_with_code(stack, totp)


def sign_in_with_code(stack, totp):
    """Password, challenge, code: (client with the credential, verify response body)."""
    api = APIClient()
    started = login(api)
    assert started.json()["status"] == "verification_required"
    assert "token" not in started.json()
    verified = verify(api, started.json()["challenge"], code=totp.now())
    assert verified.status_code == 200, verified.content
    return stack.client(api, verified.json()), verified.json()


def require_two_step(user):
    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=True)


# -- the whole flow, through every issuer -------------------------------------------------


def test_sign_in_with_a_code_gives_a_credential_that_the_project_view_accepts(stack, user, clock):
    _, totp = turn_two_step_on(stack, clock)
    client, body = sign_in_with_code(stack, totp)
    assert body["status"] == "authenticated"
    response = client.get(ME)
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "alice"}


def test_credential_from_the_password_alone_works_until_two_step_is_turned_on(stack, user, clock):
    other_device = sign_in_with_password(stack)
    assert other_device.get(ME).status_code == 200
    client, _ = turn_two_step_on(stack, clock)
    assert client.get(ME).status_code == 200
    refused = other_device.get(ME)
    if stack is JWT:
        # An access token lives until it expires, but it lacks the second step.
        assert_error(refused, 403, "two_step_verification_required")
    else:
        assert refused.status_code == stack.unauthenticated, refused.content


def test_setup_required_credential_reaches_only_setup_until_a_method_is_confirmed(
    stack, user, clock
):
    require_two_step(user)
    api = APIClient()
    body = login(api).json()
    assert body["status"] == "setup_required"
    client = stack.client(api, body)
    assert_error(client.get(ME), 403, "two_step_setup_required")
    assert client.get(AUTH + "two-step/").status_code == 200
    confirmed, _ = confirm_new_method(client)
    fresh = stack.client(client, confirmed.json())
    assert fresh.get(ME).status_code == 200


def test_logout_revokes_the_credential(stack, user, clock):
    _, totp = turn_two_step_on(stack, clock)
    client, body = sign_in_with_code(stack, totp)
    assert client.get(ME).status_code == 200
    assert client.post(AUTH + "logout/").status_code == 204
    if stack is JWT:
        # An access token lives until it expires; its refresh token is blacklisted.
        assert refresh_is_blacklisted(body["refresh"])
    else:
        assert client.get(ME).status_code == stack.unauthenticated


# -- Simple JWT -----------------------------------------------------------------------------


def jwt_claims(token):
    from rest_framework_simplejwt.tokens import UntypedToken

    return UntypedToken(token).payload


def test_jwt_claims_record_the_steps_and_when(with_jwt, user, clock):
    first = login(APIClient()).json()
    claims = jwt_claims(first["token"])
    assert claims["amr"] == ["pwd"]
    assert claims["auth_time"] == 1_800_000_015
    _, totp = turn_two_step_on(JWT, clock)
    clock.shift(100)
    _, body = sign_in_with_code(JWT, totp)
    for token in (body["token"], body["refresh"]):
        claims = jwt_claims(token)
        assert claims["amr"] == ["pwd", "otp"]
        assert claims["auth_time"] == 1_800_000_015 + 30 + 100
        assert claims["user_id"] == str(user.pk)
    assert jwt_claims(body["token"])["token_type"] == "access"
    assert jwt_claims(body["refresh"])["token_type"] == "refresh"


def test_jwt_from_simple_jwts_own_password_view_is_refused_for_a_two_step_user(
    with_jwt, user, clock
):
    from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

    turn_two_step_on(JWT, clock)
    obtained = TokenObtainPairSerializer(data={"username": "alice", "password": PASSWORD})
    assert obtained.is_valid(), obtained.errors
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {obtained.validated_data['access']}")
    assert_error(client.get(ME), 403, "two_step_verification_required")


def test_refreshed_jwt_keeps_the_second_step(with_jwt, user, clock):
    from rest_framework_simplejwt.serializers import TokenRefreshSerializer

    _, totp = turn_two_step_on(JWT, clock)
    _, body = sign_in_with_code(JWT, totp)
    refreshed = TokenRefreshSerializer(data={"refresh": body["refresh"]})
    assert refreshed.is_valid(), refreshed.errors
    access = refreshed.validated_data["access"]
    assert access != body["token"]
    assert jwt_claims(access)["amr"] == ["pwd", "otp"]
    assert JWT.client(None, {"token": access}).get(ME).status_code == 200


def refresh_is_blacklisted(refresh) -> bool:
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import RefreshToken

    try:
        RefreshToken(refresh)
    except TokenError as exc:
        assert "blacklisted" in str(exc)
        return True
    return False


def test_jwt_logout_blacklists_the_refresh_tokens_of_that_sign_in_only(with_jwt, user, clock):
    _, totp = turn_two_step_on(JWT, clock)
    (laptop, laptop_body), (phone, phone_body) = sign_in_on_two_devices(JWT, totp, clock)
    assert laptop.post(AUTH + "logout/").status_code == 204
    assert refresh_is_blacklisted(laptop_body["refresh"])
    assert not refresh_is_blacklisted(phone_body["refresh"])
    assert phone.get(ME).status_code == 200


def test_jwt_logout_also_blacklists_rotated_refresh_tokens(with_jwt, monkeypatch, user, clock):
    from rest_framework_simplejwt.serializers import TokenRefreshSerializer
    from rest_framework_simplejwt.settings import api_settings

    monkeypatch.setattr(api_settings, "ROTATE_REFRESH_TOKENS", True)
    _, totp = turn_two_step_on(JWT, clock)
    client, body = sign_in_with_code(JWT, totp)
    rotated = TokenRefreshSerializer(data={"refresh": body["refresh"]})
    assert rotated.is_valid(), rotated.errors
    new_refresh = rotated.validated_data["refresh"]
    assert jwt_claims(new_refresh)["sid"] == jwt_claims(body["refresh"])["sid"]
    assert client.post(AUTH + "logout/").status_code == 204
    assert refresh_is_blacklisted(body["refresh"])
    assert refresh_is_blacklisted(new_refresh)


def test_turning_two_step_on_and_reset_blacklist_every_refresh_token(with_jwt, user, clock):
    before = login(APIClient()).json()
    client, totp = turn_two_step_on(JWT, clock)
    assert refresh_is_blacklisted(before["refresh"])
    # The access token from before lacks the second step.
    assert_error(JWT.client(None, before).get(ME), 403, "two_step_verification_required")
    _, body = sign_in_with_code(JWT, totp)
    assert not refresh_is_blacklisted(body["refresh"])
    services.reset_two_step(user)
    assert refresh_is_blacklisted(body["refresh"])


# -- knox ------------------------------------------------------------------------------------


def test_knox_token_made_by_knox_itself_is_refused_for_a_two_step_user(with_knox, user, clock):
    from knox.models import AuthToken

    turn_two_step_on(KNOX, clock)
    _, token = AuthToken.objects.create(user=user)
    assert_error(KNOX.client(None, {"token": token}).get(ME), 403, "two_step_verification_required")


def test_knox_keeps_one_token_per_sign_in_and_logout_deletes_only_its_own(with_knox, user, clock):
    from knox.models import AuthToken

    _, totp = turn_two_step_on(KNOX, clock)
    (laptop, body), (phone, _) = sign_in_on_two_devices(KNOX, totp, clock)
    assert AuthToken.objects.filter(user=user).count() == 3  # the confirmation's and these
    stored = AuthToken.objects.get(token_key=body["token"][:15])
    assert body["expiry"] == stored.expiry.isoformat()
    assert laptop.post(AUTH + "logout/").status_code == 204
    assert AuthToken.objects.filter(user=user).count() == 2
    assert_error(laptop.get(ME), 401, "authentication_failed")
    assert phone.get(ME).status_code == 200


def test_knox_turning_two_step_on_and_reset_delete_every_token(with_knox, user, clock):
    from knox.models import AuthToken

    login(APIClient())
    login(APIClient())
    assert AuthToken.objects.filter(user=user).count() == 2
    client, _ = turn_two_step_on(KNOX, clock)
    assert AuthToken.objects.filter(user=user).count() == 1
    services.reset_two_step(user)
    assert not AuthToken.objects.filter(user=user).exists()
    assert_error(client.get(ME), 401, "authentication_failed")


# -- sessions -------------------------------------------------------------------------------


def csrf_client():
    """A browser-like client: CSRF enforced, with a csrftoken cookie it echoes in a header."""
    from django.middleware.csrf import _get_new_csrf_string

    client = APIClient(enforce_csrf_checks=True)
    client.cookies[django_settings.CSRF_COOKIE_NAME] = _get_new_csrf_string()
    return client


def csrf_header(client):
    return {"HTTP_X_CSRFTOKEN": client.cookies[django_settings.CSRF_COOKIE_NAME].value}


def test_session_login_needs_the_csrf_token(with_sessions, user):
    client = csrf_client()
    body = {"username": "alice", "password": PASSWORD}
    refused = client.post(AUTH + "login/", body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert django_settings.SESSION_COOKIE_NAME not in client.cookies
    signed_in = client.post(AUTH + "login/", body, format="json", **csrf_header(client))
    assert signed_in.status_code == 200, signed_in.content
    assert signed_in.json()["token"] is None
    assert client.get(ME).status_code == 200
    # Logging in rotated the CSRF token: writes need the new one.
    assert client.post(AUTH + "logout/").status_code == 403
    assert client.post(AUTH + "logout/", **csrf_header(client)).status_code == 204
    assert client.get(ME).status_code == 403  # anonymous again


def test_session_verify_needs_the_csrf_token_and_a_refused_one_does_not_use_the_code(
    with_sessions, user, clock
):
    _, totp = turn_two_step_on(SESSION, clock)
    client = csrf_client()
    challenge = login(client).json()["challenge"]  # no session yet: nothing to protect
    body = {"challenge": challenge, "code": totp.now()}
    refused = client.post(AUTH + "login/verify/", body, format="json")
    assert refused.status_code == 403
    verified = client.post(AUTH + "login/verify/", body, format="json", **csrf_header(client))
    assert verified.status_code == 200, verified.content
    assert client.get(ME).status_code == 200


def test_session_turning_two_step_on_and_reset_end_the_users_other_sessions(
    with_sessions, user, other_user, clock
):
    elsewhere = APIClient()
    assert login(elsewhere).json()["status"] == "authenticated"
    bystander = APIClient()
    login(bystander, "bob")
    client, _ = turn_two_step_on(SESSION, clock)
    assert client.get(ME).status_code == 200
    assert elsewhere.get(ME).status_code == 403  # anonymous: the session is gone
    assert bystander.get(ME).status_code == 200
    assert Session.objects.count() == 2
    services.reset_two_step(user)
    assert client.get(ME).status_code == 403
    assert bystander.get(ME).status_code == 200
    assert Session.objects.count() == 1


# -- query counts of an enforced request ----------------------------------------------------

# The base class's queries plus one for the enforcement state:
#   authtoken: token with user (and the state with them, in the same query); jwt: user; knox:
#   token with user, the user's other tokens (knox's expiry clean-up); session: session, user
#   (and the state with the user, in the same query).
QUERIES = {"authtoken": 1, "jwt": 2, "knox": 3, "session": 2}
# With ENFORCEMENT_CACHE the state comes from the cache: the base class's queries alone.
CACHED_QUERIES = {"authtoken": 1, "jwt": 1, "knox": 2, "session": 2}


def test_enforced_request_costs_the_base_class_plus_at_most_one_query(
    stack, user, clock, django_assert_num_queries
):
    _, totp = turn_two_step_on(stack, clock)
    client, _ = sign_in_with_code(stack, totp)
    with django_assert_num_queries(QUERIES[stack.name]):
        response = client.get(ME)
    assert response.status_code == 200


def test_enforcement_cache_saves_the_query(stack, settings, user, clock, django_assert_num_queries):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "ENFORCEMENT_CACHE": "default"}
    _, totp = turn_two_step_on(stack, clock)
    client, _ = sign_in_with_code(stack, totp)
    assert client.get(ME).status_code == 200
    with django_assert_num_queries(CACHED_QUERIES[stack.name]):
        response = client.get(ME)
    assert response.status_code == 200


# -- the response hook ----------------------------------------------------------------------


# What each issuer puts beside "token".
EXTRA_FIELDS = {"authtoken": set(), "jwt": {"refresh"}, "knox": {"expiry"}, "session": set()}


class UserAdapter(DefaultTwoStepAdapter):
    def build_credential_response(self, request, user, response):
        return {**response, "user": {"id": user.pk, "username": user.get_username()}}


def test_the_adapter_adds_fields_to_every_response_with_a_credential(stack, settings, user, clock):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "ADAPTER": "tests.test_issuers.UserAdapter"}
    expected = {"id": user.pk, "username": "alice"}
    api = APIClient()
    signed_in = login(api).json()
    assert signed_in["user"] == expected
    client = stack.client(api, signed_in)
    confirmed, totp = confirm_new_method(client)
    assert confirmed.json()["user"] == expected
    clock.shift(totp.interval)
    api = APIClient()
    challenge = login(api).json()
    assert "user" not in challenge  # no credential yet
    verified = verify(api, challenge["challenge"], code=totp.now()).json()
    assert verified["user"] == expected
    assert set(verified) == {"status", "token", "two_step", "user"} | EXTRA_FIELDS[stack.name]
    # A second method turns nothing on and hands out no credential: no hook.
    second, _ = confirm_new_method(stack.client(api, verified))
    assert second.json()["token"] is None
    assert "user" not in second.json()


# -- checks and optional packages -----------------------------------------------------------


def check_ids(authentication=None, **values):
    """The package's check ids with DRF_TWOSTEP = values (and these default authentication
    classes, if given)."""
    rest_framework = dict(django_settings.REST_FRAMEWORK)
    if authentication is not None:
        rest_framework["DEFAULT_AUTHENTICATION_CLASSES"] = authentication
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", **values}, REST_FRAMEWORK=rest_framework
    ):
        return [m.id for m in run_checks() if m.id and m.id.startswith("drf_twostep.")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_issuer_passes_the_checks_beside_its_authentication_class(stack):
    assert check_ids([stack.authentication], TOKEN_ISSUER=stack.issuer) == []


@pytest.mark.parametrize("stack", STACKS)
def test_an_issuer_without_its_authentication_class_is_a_warning(stack):
    installed = [AUTHTOKEN, SESSION] + [JWT] * HAS_JWT + [KNOX] * HAS_KNOX
    others = [other.authentication for other in installed if other != stack]
    others.append("rest_framework.authentication.BasicAuthentication")
    assert check_ids(others, TOKEN_ISSUER=stack.issuer) == ["drf_twostep.W002"]


@needs_jwt
def test_the_jwt_issuer_beside_simple_jwts_own_class_is_a_warning():
    # Simple JWT's class accepts the tokens without enforcing 2SV.
    plain = ["rest_framework_simplejwt.authentication.JWTAuthentication"]
    assert check_ids(plain, TOKEN_ISSUER=JWT.issuer) == ["drf_twostep.W002"]


if HAS_JWT:
    from drf_twostep.authentication import TwoStepJWTAuthentication

    class ProjectJWTAuthentication(TwoStepJWTAuthentication):
        """A project's own subclass of the enforcing class."""

        www_authenticate_realm = "project"


@needs_jwt
def test_a_subclass_of_the_enforcing_class_passes_the_check():
    subclass = ["tests.test_issuers.ProjectJWTAuthentication"]
    assert check_ids(subclass, TOKEN_ISSUER=JWT.issuer) == []


@needs_knox
def test_the_knox_issuer_without_knox_in_installed_apps_is_an_error():
    apps = [app for app in django_settings.INSTALLED_APPS if app != "knox"]
    with override_settings(INSTALLED_APPS=apps):
        with override_settings(DRF_TWOSTEP={"TOKEN_ISSUER": KNOX.issuer}):
            messages = [m for m in run_checks() if m.id == "drf_twostep.E012"]
    assert len(messages) == 1
    assert "KnoxIssuer" in messages[0].msg and "'knox' in INSTALLED_APPS" in messages[0].msg


def test_the_session_issuer_without_sessions_is_an_error():
    apps = [app for app in django_settings.INSTALLED_APPS if app != "django.contrib.sessions"]
    with override_settings(INSTALLED_APPS=apps):
        assert "drf_twostep.E012" in check_ids(TOKEN_ISSUER=SESSION.issuer)


# Run in a fresh interpreter in which Simple JWT and knox cannot be imported.
WITHOUT_OPTIONAL_PACKAGES = """
import sys
sys.modules["rest_framework_simplejwt"] = None
sys.modules["knox"] = None
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="x" * 50,
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "rest_framework", "rest_framework.authtoken",
                    "drf_spectacular", "drf_twostep"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DRF_TWOSTEP={"TOKEN_ISSUER": sys.argv[1]},
)
django.setup()
import drf_twostep.authentication, drf_twostep.issuers, drf_twostep.schema, drf_twostep.services
from django.core.checks import run_checks
for message in run_checks():
    print(message.id, message.msg)
try:
    drf_twostep.authentication.TwoStepJWTAuthentication
except ImportError as exc:
    print("ImportError", exc)
"""


@pytest.mark.parametrize(
    "issuer, problem",
    [
        (JWT.issuer, "djangorestframework-simplejwt: pip install 'drf-twostep[jwt]'"),
        (KNOX.issuer, "django-rest-knox: pip install 'drf-twostep[knox]'"),
    ],
)
def test_without_the_optional_packages_the_package_imports_and_the_check_names_them(
    issuer, problem
):
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPTIONAL_PACKAGES, issuer],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    errors = [line for line in lines if line.startswith("drf_twostep.E012")]
    assert len(errors) == 1, lines
    assert problem in errors[0]
    assert any(
        line.startswith("ImportError") and "pip install 'drf-twostep[jwt]'" in line
        for line in lines
    ), lines


# -- schema -----------------------------------------------------------------------------------


@needs_jwt
@needs_knox
def test_schema_shows_the_jwt_and_knox_schemes_and_stays_clean(monkeypatch, db):
    from drf_twostep.authentication import TwoStepJWTAuthentication, TwoStepKnoxAuthentication

    monkeypatch.setattr(
        APIView,
        "authentication_classes",
        [TwoStepJWTAuthentication, TwoStepKnoxAuthentication],
    )
    # What `manage.py spectacular --validate --fail-on-warn` does.
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned"
    validate_schema(schema)
    schemes = schema["components"]["securitySchemes"]
    # (The schema view keeps its own classes, the default ones, beside these.)
    assert {"jwtAuth", "knoxTokenAuth"} <= set(schemes)
    assert schemes["jwtAuth"]["type"] == "http"
    assert schemes["jwtAuth"]["scheme"] == "bearer"
    assert schemes["jwtAuth"]["bearerFormat"] == "JWT"
    assert schemes["knoxTokenAuth"]["in"] == "header"
    assert 'prefix "Token"' in schemes["knoxTokenAuth"]["description"]
    me = schema["paths"]["/api/me/"]["get"]["security"]
    assert {"jwtAuth": []} in me and {"knoxTokenAuth": []} in me


def test_grace_period_ending_applies_to_a_credential_of_every_issuer(stack, user, clock):
    from django.utils import timezone

    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    # Required for a day less a minute: the grace period ends while the credential lives.
    OrganizationPolicy.objects.create(
        organization=clinic,
        required=True,
        grace_period_days=1,
        required_since=timezone.now() - timedelta(days=1, minutes=-1),
    )
    api = APIClient()
    body = login(api).json()
    assert body["status"] == "authenticated"
    client = stack.client(api, body)
    assert client.get(ME).status_code == 200
    clock.shift(60)
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_each_sign_in_sends_user_logged_in_once(stack, user, clock):
    from django.contrib.auth.signals import user_logged_in

    received = []

    def receiver(sender, user, **kwargs):
        received.append(user.get_username())

    user_logged_in.connect(receiver)
    try:
        _, totp = turn_two_step_on(stack, clock)  # a sign-in with the password alone
        assert received == ["alice"]
        sign_in_with_code(stack, totp)
        assert received == ["alice", "alice"]
    finally:
        user_logged_in.disconnect(receiver)
