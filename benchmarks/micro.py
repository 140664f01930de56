"""
In-process benchmarks: full Django requests through the WSGI handler, and the code checks alone.

``configure()`` sets up a throwaway database (SQLite in a temporary file, or a fresh
``test_...`` database on the server ``DATABASE_URL`` names) and ``Scenarios`` builds the users
and runs each benchmark against its baseline. Passwords use Django's MD5 hasher so that a
password check is not what the login figures measure (production projects use PBKDF2 or
Argon2, which cost far more than everything measured here).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from urllib.parse import urlsplit

from .harness import Result, compare

PASSWORD = "bench-password-not-secret"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
FAST_RATES = {
    scope: "1000000/s"
    for scope in (
        "twostep_login",
        "twostep_verify",
        "twostep_setup",
        "twostep_send_code",
        "twostep_deliver_user",
        "twostep_deliver_destination",
    )
}


def redis_reachable(url=REDIS_URL) -> bool:
    import socket

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _database(url):
    if not url:
        path = os.path.join(tempfile.mkdtemp(prefix="drf-twostep-bench-"), "bench.sqlite3")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "TEST": {"NAME": path},
            "CONN_MAX_AGE": None,
        }
    import dj_database_url

    db = dj_database_url.parse(url, conn_max_age=None)
    db.setdefault("TEST", {})
    return db


def _peer_apps() -> list[str]:
    """django-otp's TOTP devices (the peers' common base), when installed (bench.txt)."""
    try:
        import django_otp  # noqa: F401
    except ImportError:
        return []
    return ["django_otp", "django_otp.plugins.otp_totp"]


def configure(database_url=None, *, enforcement_cache="redis", database_name=None, settings=None):
    """Configure Django for the benchmarks and create their database (``database_name``, else
    ``test_`` and the URL's). ``enforcement_cache``: ``"redis"`` (when Redis answers),
    ``"locmem"`` or None; ``settings``: DRF_TWOSTEP (default ``twostep_settings()``). Returns
    the alias of the cache for ENFORCEMENT_CACHE, or None."""
    import django
    from django.conf import settings as django_settings

    twostep = settings or twostep_settings()

    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if enforcement_cache == "redis" and redis_reachable():
        caches["enforcement"] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"drf-twostep-bench-{os.getpid()}",
        }
    elif enforcement_cache == "locmem":
        caches["enforcement"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    enforcement_cache = "enforcement" if "enforcement" in caches else None
    database = _database(database_url)
    if database_name:
        database["TEST"]["NAME"] = database_name
    django_settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-not-secret-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "rest_framework",
            "rest_framework.authtoken",
            "drf_spectacular",
            "drf_twostep",
            *_peer_apps(),
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="benchmarks.urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {},
            }
        ],
        # Fast hasher: the figures are about 2SV, not about the password hash.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CACHES=caches,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        USE_TZ=True,
        TIME_ZONE="UTC",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "drf_twostep.authentication.TwoStepTokenAuthentication",
            ],
            "EXCEPTION_HANDLER": "drf_twostep.exceptions.exception_handler",
        },
        DRF_TWOSTEP=twostep,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return enforcement_cache


def teardown():
    import shutil

    from django.db import connection

    name = connection.settings_dict["NAME"]
    connection.creation.destroy_test_db(name, verbosity=0, keepdb=False)
    if connection.vendor == "sqlite":
        # The temporary directory configure() made for the database file.
        shutil.rmtree(os.path.dirname(name), ignore_errors=True)


def twostep_settings(**extra) -> dict:
    return {"ISSUER_NAME": "Bench Clinic", "THROTTLE_RATES": FAST_RATES, **extra}


def database_vendor() -> str:
    from django.db import connection

    return connection.vendor


class Client:
    """Requests straight through Django's WSGI handler: the whole middleware and view stack,
    without the test client's extra bookkeeping."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def request(self, method, path, body=None, token=None):
        data = b"" if body is None else json.dumps(body).encode()
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/json",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        status = []
        chunks = self.handler(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), content

    def ok(self, method, path, body=None, token=None, expect=200):
        code, content = self.request(method, path, body, token)
        if code != expect:
            raise AssertionError(f"{method} {path}: {code} {content[:300]!r}")
        return content


def _digest(raw: str) -> str:
    from drf_twostep.crypto import digest

    return digest(raw)


def count_queries(func) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


class Scenarios:
    """The benchmark users and every benchmark. ``scale`` multiplies rounds and calls."""

    def __init__(self, enforcement_cache=None, scale=1.0):
        self.enforcement_cache = enforcement_cache
        self.scale = scale
        self.client = Client()
        self._make_users()

    # -- fixtures ---------------------------------------------------------------------------

    def _make_users(self):
        import pyotp
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from rest_framework.authtoken.models import Token

        from drf_twostep.models import OrganizationPolicy

        User = get_user_model()
        self.clinic = Group.objects.create(name="Bench Clinic")
        OrganizationPolicy.objects.create(organization=self.clinic, required=True)
        # A user without 2SV, for DRF's own password login (the baseline of the login figures).
        self.plain_user = User.objects.create_user("plain", "plain@example.com", PASSWORD)
        Token.objects.create(user=self.plain_user)
        self.alice, self.alice_secret, self.alice_method = self._two_step_user("alice")
        self.alice_totp = pyotp.TOTP(self.alice_secret)
        # alice's token, issued by login/verify/: it passed the second step.
        self.token = self._verified_token(self.alice)
        # Users with 1, 10 and 100 recovery codes (RECOVERY_CODE_COUNT), plain codes kept.
        self.recovery = {}
        for count in (1, 10, 100):
            user, _, _ = self._two_step_user(f"recovery{count}", codes=count)
            self.recovery[count] = user

    def _two_step_user(self, username, codes=1):
        """A member of the clinic with an authenticator app set up and confirmed through the
        API, as a user would; returns ``(user, secret, method_id)``."""
        import pyotp
        from django.contrib.auth import get_user_model
        from django.test import override_settings

        user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
        user.groups.add(self.clinic)
        login = json.loads(
            self.client.ok("POST", "/api/auth/login/", {"username": username, "password": PASSWORD})
        )
        assert login["status"] == "setup_required", login
        token = login["token"]
        setup = json.loads(
            self.client.ok(
                "POST",
                "/api/auth/two-step/methods/",
                {"kind": "authenticator_app", "password": PASSWORD},
                token,
                expect=201,
            )
        )
        totp = pyotp.parse_uri(setup["otpauth_uri"])
        with override_settings(DRF_TWOSTEP=twostep_settings(RECOVERY_CODE_COUNT=codes)):
            confirmed = json.loads(
                self.client.ok(
                    "POST",
                    f"/api/auth/two-step/methods/{setup['id']}/confirm/",
                    {"code": totp.now()},
                    token,
                )
            )
        user.plain_recovery_codes = list(confirmed["recovery_codes"])
        assert len(user.plain_recovery_codes) == codes
        self._allow_code_again(setup["id"])
        return user, totp.secret, setup["id"]

    def _allow_code_again(self, method_id=None):
        """Forget the last used time step, so the current code works again (untimed: the
        replay guard is one conditional UPDATE, which the verify figures include)."""
        from drf_twostep.models import TwoStepMethod

        TwoStepMethod.objects.filter(pk=method_id or self.alice_method).update(last_used_step=None)

    def _challenge(self, user):
        """A fresh login challenge for ``user``, from ``login/`` (which stores whether the
        client is new on it, for the second step from the same client)."""
        body = {"username": user.get_username(), "password": PASSWORD}
        started = json.loads(self.client.ok("POST", "/api/auth/login/", body))
        assert started["status"] == "verification_required", started
        return started["challenge"]

    def _verified_token(self, user):
        self._allow_code_again()
        body = {"challenge": self._challenge(user), "code": self.alice_totp.now()}
        return json.loads(self.client.ok("POST", "/api/auth/login/verify/", body))["token"]

    def _n(self, rounds, per_round):
        return max(3, round(rounds * self.scale)), max(3, round(per_round * self.scale))

    def _measure(self, group, name, baseline_name, subject, baseline, sizes, **fields):
        """Time ``subject`` against ``baseline`` (pairs ``(op, prepare)``) and count the
        queries of one call of each (``queries=False``: none to count)."""
        rounds, per_round = self._n(*sizes)
        count = fields.pop("queries", True)

        def queries_of(pair):
            arg = pair[1]() if pair[1] is not None else None
            return count_queries(lambda: pair[0](arg)) if count else 0

        subject_s, base_s, ratio = compare(subject, baseline, rounds=rounds, per_round=per_round)
        check = fields.pop("check", None)
        result = Result(
            group,
            name,
            baseline_name,
            subject_s * 1e6,
            base_s * 1e6,
            ratio,
            queries_of(subject),
            queries_of(baseline),
            rounds,
            per_round,
            **fields,
        )
        if check is not None:
            result.ok = check(result)
        return result

    # -- 1. the enforced request ------------------------------------------------------------

    def enforced_get(self) -> list[Result]:
        from django.conf import settings
        from django.test import override_settings

        client, token = self.client, self.token
        # The same view with either class; only the authentication differs.
        plain = (lambda _: client.ok("GET", "/bench/plain/", token=token), None)
        enforced = (lambda _: client.ok("GET", "/bench/enforced/", token=token), None)
        group, baseline = "enforced request", "GET, DRF TokenAuthentication"
        results = [
            self._measure(
                group,
                "GET, TwoStepTokenAuthentication, no cache",
                baseline,
                enforced,
                plain,
                (15, 100),
                target="≤ +1 query, ratio ≤ 1.10",
                check=lambda r: r.queries <= r.baseline_queries + 1 and r.ratio <= 1.10,
            )
        ]
        if self.enforcement_cache:
            backend = settings.CACHES[self.enforcement_cache]["BACKEND"].rsplit(".", 1)[-1]
            cached = twostep_settings(ENFORCEMENT_CACHE=self.enforcement_cache)
            with override_settings(DRF_TWOSTEP=cached):
                enforced[0](None)  # warm the cache
                results.append(
                    self._measure(
                        group,
                        f"GET, TwoStepTokenAuthentication, ENFORCEMENT_CACHE on {backend} (warm)",
                        baseline,
                        enforced,
                        plain,
                        (15, 100),
                        target="+0 queries, ratio ≤ 1.10",
                        check=lambda r: r.queries == r.baseline_queries and r.ratio <= 1.10,
                    )
                )
        return results

    # -- 2. the second step -----------------------------------------------------------------

    def code_check(self) -> list[Result]:
        import pyotp

        from drf_twostep.methods import get_method
        from drf_twostep.models import TwoStepMethod

        handler = get_method(TwoStepMethod.objects.get(pk=self.alice_method))
        secret = self.alice_secret

        def package(_):
            assert handler.matching_step(self.alice_totp.now()) is not None

        def bare(_):
            assert pyotp.TOTP(secret).verify(self.alice_totp.now(), valid_window=1)

        return [
            self._measure(
                "second step",
                "TOTP code check (generator kept on the handler, compare the window of 3 steps)",
                "bare pyotp TOTP(secret).verify(code, valid_window=1)",
                (package, None),
                (bare, None),
                (15, 400),
                queries=False,
                target="ratio ≤ 2.0",
                check=lambda r: r.ratio <= 2.0,
            )
        ]

    def _password_login(self):
        """DRF's own password login (``obtain_auth_token``) of a user without 2SV."""
        body = {"username": "plain", "password": PASSWORD}
        return (lambda _: self.client.ok("POST", "/bench/obtain-auth-token/", body), None)

    def verify_totp(self) -> list[Result]:
        def prepare():
            self._allow_code_again()
            return self._challenge(self.alice)

        def verify(challenge):
            body = {"challenge": challenge, "code": self.alice_totp.now()}
            self.client.ok("POST", "/api/auth/login/verify/", body)

        def full_login(_):
            body = {"username": "alice", "password": PASSWORD}
            challenge = json.loads(self.client.ok("POST", "/api/auth/login/", body))["challenge"]
            verify(challenge)

        return [
            self._measure(
                "second step",
                name,
                "DRF obtain_auth_token (password only)",
                subject,
                self._password_login(),
                (9, 15),
            )
            for name, subject in (
                ("login/verify/ with a TOTP code", (verify, prepare)),
                (
                    "full login: login/ then login/verify/ (TOTP)",
                    (full_login, self._allow_code_again),
                ),
            )
        ]

    def verify_recovery(self) -> list[Result]:
        from django.core import mail

        def flow(count):
            user = self.recovery[count]

            def prepare():
                mail.outbox = []
                return self._challenge(user), user.plain_recovery_codes.pop()

            def verify(arg):
                challenge, code = arg
                body = {"challenge": challenge, "recovery_code": code}
                answer = json.loads(self.client.ok("POST", "/api/auth/login/verify/", body))
                # The used code is gone; its replacement takes its place.
                user.plain_recovery_codes.insert(0, answer["recovery_codes"][0])

            return verify, prepare

        group = "second step"
        results = [
            self._measure(
                group,
                "login/verify/ with a recovery code (user holds 1)",
                "DRF obtain_auth_token (password only)",
                flow(1),
                self._password_login(),
                (9, 15),
            )
        ]
        for count in (10, 100):
            results.append(
                self._measure(
                    group,
                    f"login/verify/ with a recovery code (user holds {count})",
                    "the same, user holds 1",
                    flow(count),
                    flow(1),
                    (9, 15),
                    target="same queries, ratio ≤ 1.10",
                    check=lambda r: r.queries == r.baseline_queries and r.ratio <= 1.10,
                )
            )
        return results

    # -- 3. setup ---------------------------------------------------------------------------

    def setup_endpoints(self) -> list[Result]:
        from django.utils import timezone

        from drf_twostep.methods.totp import build_otpauth_uri, qr_code_data_uri
        from drf_twostep.pdf import render_recovery_codes

        client, token = self.client, self.token
        plain = (lambda _: client.ok("GET", "/bench/plain/", token=token), None)
        body = {"kind": "authenticator_app", "password": PASSWORD, "name": "Second phone"}
        setup = (
            lambda _: client.ok("POST", "/api/auth/two-step/methods/", body, token, expect=201),
            None,
        )
        codes = self.recovery[10].plain_recovery_codes
        recovery_token = self._token_of(self.recovery[10])
        pdf_body = {"recovery_codes": codes[:1]}
        pdf = (
            lambda _: client.ok(
                "POST", "/api/auth/two-step/recovery-codes/pdf/", pdf_body, recovery_token
            ),
            None,
        )
        uri = build_otpauth_uri(self.alice_secret, "alice@example.com", "Bench Clinic")
        qr = (lambda _: qr_code_data_uri(uri), None)
        render = (
            lambda _: render_recovery_codes(
                site_name="Bench Clinic",
                account="alice",
                codes=codes[:1],
                date=timezone.localdate(),
            ),
            None,
        )
        results = []
        for name, subject, (part_name, part) in (
            ("POST two-step/methods/ (authenticator app)", setup, ("SVG QR code alone", qr)),
            ("POST two-step/recovery-codes/pdf/", pdf, ("PDF rendering alone", render)),
        ):
            results.append(
                self._measure(
                    "setup", name, "GET, DRF TokenAuthentication", subject, plain, (9, 15)
                )
            )
            results.append(
                self._measure("setup", f"of which: {part_name}", name, part, subject, (9, 15))
            )
        return results

    def _token_of(self, user):
        """A verified token for a recovery-code user (signs in with one of their codes)."""
        code = user.plain_recovery_codes.pop()
        body = {"challenge": self._challenge(user), "recovery_code": code}
        answer = json.loads(self.client.ok("POST", "/api/auth/login/verify/", body))
        user.plain_recovery_codes.insert(0, answer["recovery_codes"][0])
        return answer["token"]

    # -- 4. a peer ---------------------------------------------------------------------------

    def peers(self) -> list[Result]:
        """Accepting a TOTP code, database write included, against django-otp's TOTP device
        (the base of django-two-factor-auth): the same secret, window (±1 step) and code."""
        from django.apps import apps

        if not apps.is_installed("django_otp.plugins.otp_totp"):
            return []
        import base64

        from django_otp.plugins.otp_totp.models import TOTPDevice

        from drf_twostep.methods import get_method
        from drf_twostep.models import TwoStepMethod

        device = TOTPDevice.objects.create(
            user=self.alice,
            name="bench",
            key=base64.b32decode(self.alice_secret).hex(),
            tolerance=1,
        )

        def ours_prepare():
            self._allow_code_again()
            return get_method(TwoStepMethod.objects.get(pk=self.alice_method))

        def theirs_prepare():
            # Forget the last used step, as for ours; django-otp reads the device from the
            # database too before it checks a code.
            TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
            return TOTPDevice.objects.get(pk=device.pk)

        def ours(handler):
            handler.verify(self.alice_totp.now())

        def theirs(found):
            assert found.verify_token(self.alice_totp.now())

        return [
            self._measure(
                "peers",
                "accept a TOTP code: AuthenticatorAppMethod.verify (decrypt, window of 3, "
                "replay guard)",
                "django-otp TOTPDevice.verify_token (window of 3, replay guard, throttle)",
                (ours, ours_prepare),
                (theirs, theirs_prepare),
                (15, 100),
            )
        ]

    # -- 5. passkeys --------------------------------------------------------------------------

    def passkey_check(self) -> list[Result]:
        """An assertion verify (ES256, by py_webauthn) against the TOTP check, without the
        database; then accepting either at the second step, database writes included."""
        try:
            import webauthn  # noqa: F401
        except ImportError:  # the passkeys extra (bench.txt)
            return []
        from django.test import override_settings

        settings = twostep_settings(
            METHOD_CLASSES=[
                "drf_twostep.methods.totp.AuthenticatorAppMethod",
                "drf_twostep.methods.passkey.PasskeyMethod",
            ],
            WEBAUTHN_RP_ID="example.com",
            WEBAUTHN_ORIGINS=["https://example.com"],
        )
        with override_settings(DRF_TWOSTEP=settings):
            return self._passkey_check()

    def _passkey_check(self) -> list[Result]:
        from django.db import transaction

        from drf_twostep.constants import MethodStatus
        from drf_twostep.methods import _webauthn, get_method
        from drf_twostep.methods import passkey as passkeys
        from drf_twostep.models import LoginChallenge, TwoStepMethod
        from tests.authenticator import SoftAuthenticator

        authenticator = SoftAuthenticator(counter=0)
        method = TwoStepMethod.objects.create(user=self.alice, kind="passkey", name="bench")
        with transaction.atomic():
            options = passkeys.registration_options(method)
            passkeys.register(method, authenticator.create(options))
        TwoStepMethod.objects.filter(pk=method.pk).update(status=MethodStatus.ACTIVE.value)
        public_key = bytes(method.passkey.public_key)
        fixed = {"challenge": _webauthn.encode(b"\x07" * 32)}
        totp = get_method(TwoStepMethod.objects.get(pk=self.alice_method))

        def assertion():
            return authenticator.get(fixed)

        def verify_alone(credential):
            parsed = _webauthn.parse_authentication(credential)
            challenge = _webauthn.client_challenge(parsed)
            _webauthn.verify_authentication(parsed, challenge, public_key, require_uv=False)

        def totp_check(_):
            assert totp.matching_step(self.alice_totp.now()) is not None

        def login_prepare():
            challenge = LoginChallenge.objects.get(digest=_digest(self._challenge(self.alice)))
            return challenge, authenticator.get(passkeys.login_options(challenge))

        def passkey_step(arg):
            challenge, credential = arg
            with transaction.atomic():
                passkeys.verify_second_step(challenge, credential)

        def totp_prepare():
            self._allow_code_again()
            return get_method(TwoStepMethod.objects.get(pk=self.alice_method))

        def totp_step(handler):
            with transaction.atomic():
                handler.verify(self.alice_totp.now())

        group = "passkeys"
        return [
            self._measure(
                group,
                "assertion verify (parse, ES256 signature, py_webauthn checks; no database)",
                "TOTP code check (AuthenticatorAppMethod.matching_step)",
                (verify_alone, assertion),
                (totp_check, None),
                (15, 200),
                queries=False,
            ),
            self._measure(
                group,
                "accept a passkey at the second step: passkey.verify_second_step",
                "accept a TOTP code: AuthenticatorAppMethod.verify",
                (passkey_step, login_prepare),
                (totp_step, totp_prepare),
                (9, 40),
            ),
        ]

    ALL = (
        "enforced_get",
        "code_check",
        "verify_totp",
        "verify_recovery",
        "setup_endpoints",
        "peers",
        "passkey_check",
    )

    def run(self, names=ALL) -> list[Result]:
        results = []
        for name in names:
            results.extend(getattr(self, name)())
        return results
