"""
RFC 6238 Appendix B test vectors, checked through the package's own verification path
(``AuthenticatorAppMethod.verify`` on a stored, encrypted method), and agreement with
``oathtool`` where it is installed.
"""

from __future__ import annotations

import base64
import subprocess
import time
from urllib.parse import quote

import pyotp
import pytest
import time_machine

from drf_twostep import crypto
from drf_twostep.constants import MethodStatus
from drf_twostep.exceptions import InvalidCode
from drf_twostep.methods import get_method
from drf_twostep.methods.totp import (
    AuthenticatorAppMethod,
    build_otpauth_uri,
    parse_otpauth_uri,
)
from drf_twostep.models import TwoStepMethod
from tests.helpers import AUTH, login, secret_of, start_setup, token_client, verify
from tests.tools import require_tool

KEYS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}

# (Unix time, algorithm, 8-digit TOTP) from RFC 6238 Appendix B.
RFC6238_VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


def _otpauth_uri(key: bytes, algorithm: str) -> str:
    secret = base64.b32encode(key).decode().rstrip("=")
    return (
        "otpauth://totp/RFC6238:"
        + quote("alice@example.com")
        + f"?secret={secret}&issuer=RFC6238&algorithm={algorithm}&digits=8&period=30"
    )


def _vector_method(user, algorithm: str) -> TwoStepMethod:
    return TwoStepMethod.objects.create(
        user=user,
        kind=AuthenticatorAppMethod.kind,
        name="RFC 6238",
        status=MethodStatus.ACTIVE.value,
        is_default=True,
        secret=crypto.encrypt(_otpauth_uri(KEYS[algorithm], algorithm)),
    )


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


@pytest.mark.parametrize(("when", "algorithm", "code"), RFC6238_VECTORS)
def test_rfc6238_vector_is_accepted_by_the_stored_method(user, when, algorithm, code):
    method = _vector_method(user, algorithm)
    with time_machine.travel(when, tick=False):
        AuthenticatorAppMethod(method).verify(code)
    method.refresh_from_db()
    assert method.last_used_step == when // 30
    assert method.last_used_at is not None


@pytest.mark.parametrize(("when", "algorithm", "code"), RFC6238_VECTORS)
def test_wrong_code_for_rfc6238_vector_raises_invalid_code(user, when, algorithm, code):
    method = _vector_method(user, algorithm)
    with time_machine.travel(when, tick=False):
        with pytest.raises(InvalidCode):
            AuthenticatorAppMethod(method).verify(_other_code(code))
    method.refresh_from_db()
    assert method.last_used_step is None


@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_rfc6238_vector_is_not_accepted_far_from_its_time(user, algorithm):
    when, code = next((t, c) for t, a, c in RFC6238_VECTORS if a == algorithm and t == 1111111109)
    method = _vector_method(user, algorithm)
    with time_machine.travel(when + 10 * 30, tick=False):
        with pytest.raises(InvalidCode):
            AuthenticatorAppMethod(method).verify(code)


def test_get_method_wraps_an_authenticator_app_row(user):
    method = _vector_method(user, "SHA1")
    handler = get_method(method)
    assert isinstance(handler, AuthenticatorAppMethod)
    assert handler.instance is method


# -- reading stored URIs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "digits", "period"), [("SHA1", 6, 30), ("SHA256", 8, 60), ("SHA512", 7, 15)]
)
def test_stored_uris_read_as_pyotp_reads_them(settings, algorithm, digits, period):
    settings.DRF_TWOSTEP = {
        "TOTP_ALGORITHM": algorithm,
        "TOTP_DIGITS": digits,
        "TOTP_PERIOD": period,
    }
    uri = build_otpauth_uri(pyotp.random_base32(32), "a&b=c:d%@example.com", "Clinic & Co")
    ours, theirs = parse_otpauth_uri(uri), pyotp.parse_uri(uri)
    assert (ours.secret, ours.digits, ours.digest, ours.interval) == (
        theirs.secret,
        theirs.digits,
        theirs.digest,
        theirs.interval,
    )
    assert ours.interval == period and ours.digits == digits
    for when in (59, 1111111109, 2000000000, int(time.time())):
        assert ours.at(when) == theirs.at(when)
        assert ours.byte_secret() == theirs.byte_secret()


@pytest.mark.parametrize(
    "uri",
    [
        # no period (pyotp's default applies), escapes in the secret, another parameter order
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEH&issuer=A&algorithm=SHA1&digits=6",
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP%4aBSWY3DPEH&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/b?period=30&digits=8&algorithm=SHA256&secret=JBSWY3DPEHPK3PXPJBSWY3DPEH",
    ],
)
def test_other_uris_read_as_pyotp_reads_them(uri):
    ours, theirs = parse_otpauth_uri(uri), pyotp.parse_uri(uri)
    assert (ours.secret, ours.digits, ours.digest, ours.interval) == (
        theirs.secret,
        theirs.digits,
        theirs.digest,
        theirs.interval,
    )
    assert ours.at(1111111109) == theirs.at(1111111109)


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&secret=KBSWY3DPEHPK3PXP&algorithm=SHA1"
        "&digits=6&period=30",
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEH&algorithm=MD5&digits=6&period=30",
        "otpauth://totp/A:b?secret=JBSW&algorithm=SHA1&digits=6&period=30",
        "https://example.com/?secret=JBSWY3DPEHPK3PXPJBSWY3DPEH&algorithm=SHA1&digits=6&period=30",
    ],
)
def test_invalid_uris_are_refused_as_pyotp_refuses_them(uri):
    with pytest.raises(ValueError):
        pyotp.parse_uri(uri)
    with pytest.raises(ValueError):
        parse_otpauth_uri(uri)


# -- oathtool ------------------------------------------------------------------------------


def _oathtool(secret: str, when: int, algorithm: str = "SHA1", digits: int = 6) -> str:
    path = require_tool("oathtool")
    result = subprocess.run(
        [path, f"--totp={algorithm}", "-b", "-d", str(digits), "-N", f"@{when}", secret],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.mark.needs_tool("oathtool")
def test_oathtool_codes_from_enrolled_uri_confirm_setup_and_sign_in(api, user, clock):
    token = login(api).json()["token"]
    client = token_client(token)
    setup = start_setup(client).json()
    uri = setup["otpauth_uri"]
    assert "algorithm=SHA1" in uri and "digits=6" in uri and "period=30" in uri
    secret = secret_of(uri)
    assert secret == setup["setup_key"].replace(" ", "")

    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/",
        {"code": _oathtool(secret, int(time.time()))},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content

    clock.shift(30)
    challenge = login(api).json()["challenge"]
    response = verify(api, challenge, code=_oathtool(secret, int(time.time())))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authenticated"
    assert token_client(response.json()["token"]).get("/api/me/").status_code == 200


@pytest.mark.needs_tool("oathtool")
def test_oathtool_and_package_agree_on_codes_of_an_enrolled_method(user_with_totp, clock):
    method = TwoStepMethod.objects.get(pk=user_with_totp.method_id)
    totp = AuthenticatorAppMethod(method).totp()
    secret = user_with_totp.totp.secret
    now = int(time.time())
    for when in [now - 30, now, now + 30, now + 3600, 59, 1111111109, 2000000000]:
        assert _oathtool(secret, when) == totp.at(when), when


@pytest.mark.needs_tool("oathtool")
@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_oathtool_agrees_with_rfc6238_vectors(algorithm):
    secret = base64.b32encode(KEYS[algorithm]).decode().rstrip("=")
    for when, alg, code in RFC6238_VECTORS:
        if alg == algorithm:
            assert _oathtool(secret, when, algorithm, digits=8) == code


def test_a_handler_decrypts_the_secret_once_and_again_when_it_changes(monkeypatch):
    first, second = pyotp.random_base32(32), pyotp.random_base32(32)
    instance = TwoStepMethod(  # unsaved: the check needs no row
        kind=AuthenticatorAppMethod.kind,
        secret=crypto.encrypt(build_otpauth_uri(first, "a@example.com", "Test")),
    )
    handler = AuthenticatorAppMethod(instance)
    decrypted = []
    real = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda token: decrypted.append(token) or real(token))
    for _ in range(3):
        assert handler.matching_step(pyotp.TOTP(first).now()) is not None
    assert len(decrypted) == 1
    # A new secret on the row (a new setup, a key rotation) is read again, the old one dropped.
    instance.secret = crypto.encrypt(build_otpauth_uri(second, "a@example.com", "Test"))
    assert handler.matching_step(pyotp.TOTP(first).now()) is None
    assert handler.matching_step(pyotp.TOTP(second).now()) is not None
    assert len(decrypted) == 2
    # Not kept on the row object, which may be pickled into a cache.
    assert not any(isinstance(value, pyotp.TOTP) for value in vars(instance).values())
