"""
Constant time and equal answers (STANDARDS #50, #51): codes and markers are compared with
``hmac.compare_digest`` over every candidate, recovery codes are found by keyed digest, and the
password step answers the same, with the same number of queries and the same hashing work,
whether the user exists, has 2SV, is locked out or inactive.
"""

from __future__ import annotations

import ast
import hmac
import re
from pathlib import Path

import pyotp.utils
import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import drf_twostep
from drf_twostep import sms
from drf_twostep.crypto import keyed_digests
from drf_twostep.models import TwoStepProfile
from drf_twostep.settings import SETTINGS_NAME, twostep_settings
from tests.helpers import AUTH, PASSWORD, enable_totp, login, start_setup, verify

PACKAGE = Path(drf_twostep.__file__).parent


class Spy:
    """Wraps a comparison function and records its calls."""

    def __init__(self, func):
        self.func = func
        self.calls = []

    def __call__(self, a, b):
        self.calls.append((a, b))
        return self.func(a, b)


# -- codes ---------------------------------------------------------------------------------


def test_a_totp_code_is_compared_with_every_step_of_the_window_whatever_matches(
    api, user_with_totp, monkeypatch
):
    spy = Spy(pyotp.utils.compare_digest)
    monkeypatch.setattr(pyotp.utils, "compare_digest", spy)
    window = 2 * twostep_settings.TOTP_WINDOW + 1
    # The previous step, this one and the next one (each later than the last accepted), and
    # a wrong code: the same comparisons, so the time taken does not tell which step matched.
    near = [user_with_totp.code(k) for k in (-1, 0, 1)]
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in near)
    for code in (wrong, *near):
        spy.calls.clear()
        challenge = login(api).json()["challenge"]
        response = verify(api, challenge, code=code)
        assert response.status_code in (200, 400), response.content
        assert len(spy.calls) == window, (code, spy.calls)
        assert all(isinstance(a, bytes) and len(a) == len(b) for a, b in spy.calls)


@pytest.mark.parametrize("right", [False, True])
def test_an_sms_code_is_compared_by_keyed_digest_with_compare_digest(
    api, user, clock, monkeypatch, right
):
    client = enable_totp(api, user, clock).client()
    setup = start_setup(client, kind="sms", phone_number="+14155552671").json()
    code = sms.outbox[-1].body.split()[0]
    sent = code if right else f"{(int(code) + 1) % 10**6:06d}"
    spy = Spy(hmac.compare_digest)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    response = client.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": sent}, format="json"
    )
    assert response.status_code == (200 if right else 400), response.content
    digests = [(a, b) for a, b in spy.calls if len(a) == len(b) == 64]
    assert digests, spy.calls
    assert all(code.encode() not in a + b for a, b in digests)


@pytest.mark.parametrize("right", [False, True])
def test_a_recovery_code_is_looked_up_by_keyed_digest_only(api, user_with_totp, right):
    code = user_with_totp.recovery_codes[0] if right else "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"
    plain = code.replace("-", "")
    challenge = login(api).json()["challenge"]
    with CaptureQueriesContext(connection) as queries:
        response = verify(api, challenge, recovery_code=code.lower())
    assert response.status_code == (200 if right else 400), response.content
    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    for spelling in (code, plain, code.lower(), plain.lower()):
        assert spelling not in sql
    assert any(digest in sql for digest in keyed_digests(plain))


# -- no short-circuit comparison of a secret anywhere in the package --------------------------

SECRET_NAME = re.compile(
    r"(^|_)(code|otp|secret|digest|token|marker|challenge|raw|expected|cleaned)s?$"
)
# The modules that handle codes, secrets, digests and credentials. (Elsewhere "code" is an
# error code and "key" a settings key.)
SECRET_MODULES = [
    "authentication.py",
    "crypto.py",
    "enforcement.py",
    "issuers.py",
    "services/*.py",
    "throttling.py",
    "methods/*.py",
]


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _package_sources(patterns=("**/*.py",)):
    paths = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    for path in sorted(paths):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(), str(path))


def _is_secret(node) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "key":  # a token's key
        return True
    return bool(SECRET_NAME.search(_name(node).lower()))


def _is_literal(node) -> bool:
    return isinstance(node, ast.Constant)


def short_circuit_comparisons(tree) -> list[str]:
    """``==``, ``!=``, ``in`` or ``not in`` with a secret-looking value on either side."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(map(_is_literal, operands)):
            continue  # against a literal ("is it missing", a parser's token): no stored secret
        if any(map(_is_secret, operands)):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_a_short_circuit_operator():
    sources = list(_package_sources(SECRET_MODULES))
    assert len(sources) >= 10
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path, tree in sources
        if (found := short_circuit_comparisons(tree))
    }
    assert offenders == {}


def test_the_static_check_catches_a_short_circuit_comparison():
    source = "def check(code, stored):\n    return code == stored.digest\n"
    assert short_circuit_comparisons(ast.parse(source)) == ["line 2: code == stored.digest"]
    assert short_circuit_comparisons(ast.parse("ok = token.key != given")) != []
    assert short_circuit_comparisons(ast.parse("ok = kind == 'sms'")) == []
    assert short_circuit_comparisons(ast.parse("ok = None in cleaned")) == []
    assert short_circuit_comparisons(ast.parse("ok = token == '%s'")) == []


def test_the_package_never_uses_the_random_module():
    """Secrets, codes and challenges come from ``secrets`` (a CSPRNG), never ``random``."""
    for path, tree in _package_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(alias.name != "random" for alias in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert node.module != "random", path


# -- the password step ---------------------------------------------------------------------


class HashingSpy:
    """Counts the password hashes computed (verifying a password computes one)."""

    def __init__(self, monkeypatch):
        self.count = 0
        encode = MD5PasswordHasher.encode

        def counting(hasher, password, salt):
            self.count += 1
            return encode(hasher, password, salt)

        monkeypatch.setattr(MD5PasswordHasher, "encode", counting)


def _make(django_user_model, username, **extra):
    return django_user_model.objects.create_user(
        username, f"{username}@example.com", PASSWORD, **extra
    )


WRONG = "not the password"


@pytest.fixture
def people(api, django_user_model, clock):
    """Users in every state the password step could give away."""
    with_two_step = enable_totp(api, _make(django_user_model, "alice"), clock)
    locked = enable_totp(api, _make(django_user_model, "lena"), clock)
    TwoStepProfile.objects.filter(user=locked.user).update(
        failed_attempts=99, locked_until=timezone.now() + timezone.timedelta(hours=1)
    )
    _make(django_user_model, "bob")
    _make(django_user_model, "ivan", is_active=False)
    return with_two_step


# (username, password): every way the password step can fail.
FAILURES = {
    "unknown user": ("nobody", PASSWORD),
    "wrong password, 2SV off": ("bob", WRONG),
    "wrong password, 2SV on": ("alice", WRONG),
    "wrong password, 2SV on and locked out": ("lena", WRONG),
    "right password, user inactive": ("ivan", PASSWORD),
}


@pytest.mark.parametrize("case", FAILURES)
def test_a_failed_password_step_answers_the_same_in_one_query_and_one_hash(
    api, people, case, monkeypatch, django_assert_num_queries
):
    reference = login(api, "bob", WRONG)
    hashing = HashingSpy(monkeypatch)
    with django_assert_num_queries(1):
        response = login(api, *FAILURES[case])
    assert hashing.count == 1
    assert response.status_code == reference.status_code == 400
    assert response.json() == reference.json()
    assert response.json()["code"] == "invalid_credentials"
    assert set(response.headers) == set(reference.headers)


def test_a_two_step_sign_in_computes_one_password_hash_in_login_and_none_after(
    api, user_with_totp, settings, monkeypatch
):
    """The password is checked once, in login/: login/verify/ (a code with remember_device, or
    a recovery code) computes no hash, and neither does remembering the device; login/ with
    a trusted device's token computes the password's one. So with a slow hasher a two-step
    sign-in costs about what a password-only one does (the load test measures it)."""
    current = getattr(settings, SETTINGS_NAME, None) or {}
    setattr(settings, SETTINGS_NAME, {**current, "REMEMBER_DEVICE_DAYS": 30})
    two_step = user_with_totp
    hashing = HashingSpy(monkeypatch)
    hashes = []

    def answer(response):
        assert response.status_code == 200, response.content
        hashes.append(hashing.count)
        hashing.count = 0
        return response.json()

    challenge = answer(login(api))["challenge"]
    device = answer(verify(api, challenge, code=two_step.code(), remember_device=True))
    assert device["device_token"]
    challenge = answer(login(api))["challenge"]
    assert answer(verify(api, challenge, recovery_code=two_step.recovery_codes[0]))["token"]
    body = {"username": "alice", "password": PASSWORD, "device_token": device["device_token"]}
    assert answer(api.post(AUTH + "login/", body, format="json"))["status"] == "authenticated"
    assert hashes == [1, 0, 1, 0, 1]


def test_only_the_right_password_tells_whether_2sv_is_on(api, people):
    # Inherent in two steps (STANDARDS #51): after the right password the answers differ.
    assert login(api, "alice").json()["status"] == "verification_required"
    assert login(api, "bob").json()["status"] == "authenticated"
