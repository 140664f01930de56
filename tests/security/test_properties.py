"""
Property tests (hypothesis) of what clients type in: recovery codes (normalise and display
round trip, case, dashes and spaces; anything else refused), one-time codes (digits with
spaces and dashes; anything else ``invalid_code``) and login challenges (any string is refused
cleanly, and never matches a real challenge it is not).
"""

from __future__ import annotations

import base64
import json
import string

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drf_twostep.constants import RECOVERY_CODE_BYTES, RECOVERY_CODE_LENGTH
from drf_twostep.exceptions import InvalidCode
from drf_twostep.methods import recovery
from drf_twostep.serializers import normalize_code
from tests.helpers import AUTH, login

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SEPARATORS = "- "

# Function-scoped fixtures (the database, a user) are shared by the examples of a test: the
# tests below change nothing in the database between examples.
DB_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# No deadline: a loaded CI machine must not turn a slow example into a failure.
PURE_SETTINGS = settings(deadline=None)

code_bytes = st.binary(min_size=RECOVERY_CODE_BYTES, max_size=RECOVERY_CODE_BYTES)


@st.composite
def respelled(draw, text: str) -> str:
    """``text`` with each character's case flipped at will and separators put anywhere."""
    out = []
    for char in text:
        out.append(draw(st.text(SEPARATORS, max_size=2)))
        out.append(char.lower() if draw(st.booleans()) else char)
    out.append(draw(st.text(SEPARATORS, max_size=2)))
    return "".join(out)


# -- recovery codes ------------------------------------------------------------------------


@PURE_SETTINGS
@given(code_bytes)
def test_a_new_code_normalises_and_displays_back_to_itself(raw):
    cleaned = base64.b32encode(raw).decode()
    shown = recovery.display(cleaned)
    assert recovery.normalize(shown) == cleaned
    assert recovery.display(recovery.normalize(shown)) == shown
    assert len(cleaned) == RECOVERY_CODE_LENGTH


@PURE_SETTINGS
@given(st.data(), code_bytes)
def test_case_dashes_and_spaces_do_not_matter(data, raw):
    cleaned = base64.b32encode(raw).decode()
    typed = data.draw(respelled(cleaned))
    assert recovery.normalize(typed) == cleaned


@PURE_SETTINGS
@given(st.text())
@example("ABCD-EFGH-IJKL-MNOP-QRST-UVW1")  # 1 is not base32
@example("ABCD-EFGH-IJKL-MNOP-QRST-UVWXY")  # one too many
@example("ABCD\tEFGH-IJKL-MNOP-QRST-UVWX")  # a tab is not a separator
@example("ABCD-EFGH-IJKL-MNOP-QRST-UVWſ")  # a long s upper-cases to S
@example("ABCD-EFGH-IJKL-MNOP-QRST-UVWı")  # a dotless i upper-cases to I
@example("ＡBCD-EFGH-IJKL-MNOP-QRST-UVWX")  # a full-width A
def test_anything_else_is_refused_and_nothing_raises(text):
    result = recovery.normalize(text)
    plain = text.replace("-", "").replace(" ", "")
    if result is None:
        return
    # Accepted only if it is a code spelled with ASCII letters, digits, dashes and spaces.
    assert plain.upper() == result
    assert len(result) == RECOVERY_CODE_LENGTH and set(result) <= set(BASE32)
    assert text.isascii()


@PURE_SETTINGS
@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_a_value_that_is_not_text_is_refused(value):
    assert recovery.normalize(value) is None


# -- one-time codes ------------------------------------------------------------------------


@PURE_SETTINGS
@given(st.data(), st.text(string.digits, min_size=6, max_size=10))
def test_a_code_with_spaces_and_dashes_is_its_digits(data, digits):
    assert normalize_code(data.draw(respelled(digits))) == digits


@PURE_SETTINGS
@given(st.text())
@example("１２３４５６")  # full-width digits
@example("١٢٣٤٥٦")  # Arabic-Indic digits
@example("123456\n")
@example("12345")
@example("12345678901")
def test_anything_but_6_to_10_ascii_digits_is_invalid_code(text):
    plain = text.replace(" ", "").replace("-", "")
    valid = plain.isascii() and plain.isdigit() and 6 <= len(plain) <= 10
    if valid:
        assert normalize_code(text) == plain
    else:
        with pytest.raises(InvalidCode):
            normalize_code(text)


# -- login challenges ----------------------------------------------------------------------


def verify(api, challenge, code):
    """POST login/verify/ as a client would put it on the wire: JSON with every character that
    is not ASCII escaped, lone surrogates included (which the test client cannot encode)."""
    body = json.dumps({"challenge": challenge, "code": code}, ensure_ascii=True)
    return api.post(AUTH + "login/verify/", data=body, content_type="application/json")


@pytest.fixture
def real_challenge(api, user_with_totp):
    body = login(api).json()
    assert body["status"] == "verification_required"
    return body["challenge"]


@DB_SETTINGS
@given(text=st.text(max_size=200))
@example(text="")
@example(text="\x00")
@example(text="a" * 129)
def test_any_string_as_a_challenge_is_refused_cleanly(api, real_challenge, text):
    if text.strip() == real_challenge:
        return
    cache.clear()  # the verify throttle counts requests; this test is about their answers
    response = verify(api, text, code="123456")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_challenge", "invalid")


@DB_SETTINGS
@given(data=st.data())
def test_a_challenge_differing_in_any_way_never_matches(api, real_challenge, data):
    position = data.draw(st.integers(0, len(real_challenge) - 1))
    variant = data.draw(
        st.sampled_from(
            [
                real_challenge[:position],  # cut short
                real_challenge + data.draw(st.text(min_size=1, max_size=3)),  # longer
                real_challenge.swapcase(),
                real_challenge[:position]
                + data.draw(st.characters().filter(lambda c: c != real_challenge[position]))
                + real_challenge[position + 1 :],  # one character changed
            ]
        )
    )
    if variant.strip() == real_challenge:
        return  # the same challenge: surrounding whitespace is trimmed like in every field
    cache.clear()
    response = verify(api, variant, code="123456")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_challenge", "invalid")
