"""
Recovery codes (API.md, "Recovery codes" and the two ``two-step/recovery-codes/`` endpoints):
strength, storage as a keyed digest, one-query look-up, single use, regeneration and the PDF.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from drf_twostep.methods import recovery
from drf_twostep.models import RecoveryCode, SecurityEvent
from tests.helpers import AUTH, PASSWORD, login, run_concurrently, token_client, verify
from tests.tools import require_tool

RECOVERY_CODE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$")


def regenerate(client, password=PASSWORD):
    return client.post(AUTH + "two-step/recovery-codes/", {"password": password}, format="json")


def pdf(client, codes):
    return client.post(
        AUTH + "two-step/recovery-codes/pdf/", {"recovery_codes": codes}, format="json"
    )


def sign_in_with(api, code):
    challenge = login(api).json()["challenge"]
    return verify(api, challenge, recovery_code=code)


def stored_digests(user):
    return list(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))


def issue_codes(user, count):
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", "RECOVERY_CODE_COUNT": count}
    ):
        return recovery.regenerate(user)


# -- strength and format -------------------------------------------------------------------


def test_a_recovery_code_carries_at_least_112_bits(user_with_totp):
    (code,) = user_with_totp.recovery_codes
    assert RECOVERY_CODE.fullmatch(code), code
    raw = code.replace("-", "")
    assert len(raw) == 24
    assert len(base64.b32decode(raw)) * 8 >= 112


def test_recovery_codes_do_not_repeat(user):
    codes = issue_codes(user, 200)
    assert len(codes) == len(set(codes)) == 200
    assert all(RECOVERY_CODE.fullmatch(code) for code in codes)


def test_a_user_has_one_recovery_code_by_default(user_with_totp):
    assert len(user_with_totp.recovery_codes) == 1
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1


# -- storage ----------------------------------------------------------------------------------


def test_a_recovery_code_is_stored_only_as_a_keyed_digest(user_with_totp):
    (code,) = user_with_totp.recovery_codes
    (row,) = RecoveryCode.objects.filter(user=user_with_totp.user).values()
    bare = code.replace("-", "")
    spellings = {code, bare, code.lower(), bare.lower()}
    for value in row.values():
        for spelling in spellings:
            assert spelling not in str(value)
    plain_hashes = {
        h(s.encode()).hexdigest()
        for s in spellings
        for h in (hashlib.sha256, hashlib.sha1, hashlib.md5)
    }
    assert row["digest"] not in plain_hashes
    assert re.fullmatch(r"[0-9a-f]{64}", row["digest"])


def test_the_digest_depends_on_the_key(user_with_totp):
    (code,) = user_with_totp.recovery_codes
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", "ENCRYPTION_KEYS": ["another key"]}
    ):
        assert recovery.consume(user_with_totp.user, code) is None
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1


def test_the_digest_column_is_indexed(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, RecoveryCode._meta.db_table)
    assert any(
        c["columns"] == ["digest"] and (c["unique"] or c["index"]) for c in constraints.values()
    )


def test_checking_a_wrong_code_is_one_query_whatever_the_count(
    user, other_user, django_assert_num_queries
):
    issue_codes(user, 300)
    issue_codes(other_user, 300)
    wrong = recovery.new_code()
    with django_assert_num_queries(1) as captured:
        assert recovery.consume(user, wrong) is None
    sql = captured.captured_queries[0]["sql"].lower()
    assert RecoveryCode._meta.db_table in sql
    assert "digest" in sql


def test_using_a_code_costs_the_same_queries_with_one_code_or_many(user, other_user):
    def queries_to_use(owner, count):
        code = issue_codes(owner, count)[-1]
        with CaptureQueriesContext(connection) as captured:
            assert recovery.consume(owner, code) is not None
        return captured.captured_queries

    few = queries_to_use(user, 1)
    many = queries_to_use(other_user, 300)
    assert len(few) == len(many)
    table = RecoveryCode._meta.db_table
    lookups = [q for q in many if "digest" in q["sql"].lower() and "where" in q["sql"].lower()]
    assert len(lookups) == 1
    assert table in lookups[0]["sql"]


def test_a_malformed_code_costs_no_query(user, django_assert_num_queries):
    issue_codes(user, 3)
    for bad in ("", "ABCD", "1BCD-EFGH-IJKL-MNOP-QRST-UVWX", None, 12345):
        with django_assert_num_queries(0):
            assert recovery.consume(user, bad) is None


# -- single use ----------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_and_is_replaced(
    api, user_with_totp, django_capture_on_commit_callbacks
):
    (code,) = user_with_totp.recovery_codes
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in_with(api, code)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "authenticated"
    assert token_client(body["token"]).get("/api/me/").status_code == 200
    (replacement,) = body["recovery_codes"]
    assert RECOVERY_CODE.fullmatch(replacement)
    assert replacement != code
    assert body["two_step"]["recovery_codes"]["remaining"] == 1
    # Notified, and recorded.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert (
        SecurityEvent.objects.filter(user=user_with_totp.user, kind="recovery_code_used").count()
        == 1
    )

    again = sign_in_with(api, code)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_recovery_code"
    assert sign_in_with(api, replacement).status_code == 200


def test_a_recovery_code_is_case_insensitive_and_dashes_and_spaces_are_optional(
    api, user_with_totp
):
    (code,) = user_with_totp.recovery_codes
    response = sign_in_with(api, " ".join(code.lower().split("-")))
    assert response.status_code == 200, response.content
    (replacement,) = response.json()["recovery_codes"]
    assert sign_in_with(api, replacement.replace("-", "").lower()).status_code == 200


def test_a_wrong_recovery_code_is_invalid_recovery_code(api, user_with_totp):
    for wrong in (recovery.new_code(), "not a code at all"):
        response = sign_in_with(api, wrong)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_recovery_code"
    assert sign_in_with(api, user_with_totp.recovery_codes[0]).status_code == 200


def test_another_users_recovery_code_does_not_work(api, user_with_totp, other_user):
    (bobs,) = issue_codes(other_user, 1)
    response = sign_in_with(api, bobs)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_recovery_code"
    assert recovery.consume(other_user, bobs) is not None


def test_consuming_the_same_code_twice_succeeds_once(user):
    code, other = issue_codes(user, 2)
    assert recovery.consume(user, code) is not None
    assert recovery.consume(user, code) is None
    assert recovery.consume(user, code.lower()) is None
    # The other code and the replacement are untouched.
    assert RecoveryCode.objects.filter(user=user).count() == 2
    assert recovery.consume(user, other) is not None


def _is_postgresql():
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.mark.skipif(not _is_postgresql(), reason="parallel use needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_parallel_use_of_one_code_succeeds_exactly_once(user):
    (code,) = issue_codes(user, 1)
    workers = 8

    def work(_):
        try:
            return recovery.consume(user, code)
        finally:
            connections.close_all()

    results = run_concurrently(workers, work)
    assert len(results) == workers
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    # Exactly one replacement was issued.
    assert RecoveryCode.objects.filter(user=user).count() == 1
    assert recovery.consume(user, winners[0]) is not None


# -- POST two-step/recovery-codes/ -------------------------------------------------------------


def test_regenerating_replaces_all_codes(
    api, user_with_totp, clock, django_capture_on_commit_callbacks
):
    (old,) = user_with_totp.recovery_codes
    clock.shift(3600)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = regenerate(user_with_totp.client())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"recovery_codes"}
    (new,) = body["recovery_codes"]
    assert RECOVERY_CODE.fullmatch(new)
    assert new != old
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1
    assert SecurityEvent.objects.filter(
        user=user_with_totp.user, kind="recovery_codes_regenerated"
    ).exists()
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    status = user_with_totp.client().get(AUTH + "two-step/").json()
    assert status["recovery_codes"]["remaining"] == 1
    assert status["recovery_codes"]["created_at"].startswith(timezone.now().date().isoformat())

    assert sign_in_with(api, old).json()["code"] == "invalid_recovery_code"
    assert sign_in_with(api, new).status_code == 200


def test_regenerating_gives_the_configured_number_of_codes(user_with_totp):
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", "RECOVERY_CODE_COUNT": 5}):
        codes = regenerate(user_with_totp.client()).json()["recovery_codes"]
        assert len(codes) == len(set(codes)) == 5
        assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 5
        counts = user_with_totp.client().get(AUTH + "two-step/").json()["recovery_codes"]
        assert (counts["remaining"], counts["total"]) == (5, 5)


def test_regenerating_needs_the_password(user_with_totp):
    before = stored_digests(user_with_totp.user)
    response = regenerate(user_with_totp.client(), password="wrong")
    assert response.status_code == 400
    assert response.json()["code"] == "password_incorrect"
    assert stored_digests(user_with_totp.user) == before


def test_wrong_regeneration_passwords_are_throttled(user_with_totp, clock):
    client = user_with_totp.client()
    clock.shift(60)  # past the minute in which the method was set up
    before = stored_digests(user_with_totp.user)
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", "THROTTLE_RATES": {"twostep_setup": "3/min"}}
    ):
        for _ in range(3):
            assert regenerate(client, password="guess").json()["code"] == "password_incorrect"
        response = regenerate(client)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert stored_digests(user_with_totp.user) == before


def test_regenerating_with_two_step_off_is_two_step_not_enabled(api, user, clock):
    client = token_client(login(api).json()["token"])
    response = regenerate(client)
    assert response.status_code == 409
    assert response.json()["code"] == "two_step_not_enabled"
    assert not RecoveryCode.objects.filter(user=user).exists()


# -- POST two-step/recovery-codes/pdf/ -----------------------------------------------------------


def pdf_text(tmp_path, document: bytes) -> str:
    path = tmp_path / "codes.pdf"
    path.write_bytes(document)
    result = subprocess.run(
        [require_tool("pdftotext"), "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode()


def pdf_pages(tmp_path, document: bytes) -> int:
    path = tmp_path / "info.pdf"
    path.write_bytes(document)
    result = subprocess.run(
        [require_tool("pdfinfo"), str(path)], capture_output=True, check=True, timeout=60
    )
    return int(re.search(r"^Pages:\s+(\d+)", result.stdout.decode(), re.M).group(1))


def pdf_fonts(tmp_path, document: bytes) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(document)
    return subprocess.run(
        [require_tool("pdffonts"), str(path)], capture_output=True, check=True, timeout=60
    ).stdout.decode()


def date_spellings(day):
    return {
        day.isoformat(),
        date_format(day, "DATE_FORMAT"),
        date_format(day, "SHORT_DATE_FORMAT"),
        f"{day:%B} {day.day}, {day.year}",
        f"{day.day} {day:%B} {day.year}",
        f"{day:%b}. {day.day}, {day.year}",
        f"{day:%d/%m/%Y}",
        f"{day:%m/%d/%Y}",
    }


def test_pdf_of_the_current_codes(tmp_path, user_with_totp):
    (code,) = user_with_totp.recovery_codes
    response = pdf(user_with_totp.client(), [code])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="recovery-codes.pdf"'
    document = response.content
    assert document.startswith(b"%PDF-")
    text = pdf_text(tmp_path, document)
    flat = " ".join(text.split())
    assert code in text
    assert "Test Clinic" in text
    assert re.search(r"\balice\b", text)
    assert any(spelling in flat for spelling in date_spellings(timezone.localdate())), flat
    assert re.search(r"each code works (only )?once", flat, re.I), flat
    assert pdf_pages(tmp_path, document) == 1
    # The codes are set in a monospace type.
    assert "Courier" in pdf_fonts(tmp_path, document)


def test_pdf_shows_codes_sent_in_any_spelling_in_display_form(tmp_path, user_with_totp):
    (code,) = user_with_totp.recovery_codes
    response = pdf(user_with_totp.client(), [code.replace("-", "").lower()])
    assert response.status_code == 200
    assert code in pdf_text(tmp_path, response.content)


@pytest.mark.parametrize("count", [4, 10, 16, 50])
def test_pdf_holds_every_code_and_the_note_on_one_page(tmp_path, user_with_totp, count):
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": "Test Clinic", "RECOVERY_CODE_COUNT": count}
    ):
        codes = regenerate(user_with_totp.client()).json()["recovery_codes"]
        response = pdf(user_with_totp.client(), codes)
    assert response.status_code == 200
    text = pdf_text(tmp_path, response.content)
    assert [code for code in codes if code not in text] == []
    assert re.search(r"each code works (only )?once", " ".join(text.split()), re.I)
    assert pdf_pages(tmp_path, response.content) == 1


def test_pdf_refuses_codes_that_are_not_current(api, user_with_totp, other_user):
    client = user_with_totp.client()
    (old,) = user_with_totp.recovery_codes
    (current,) = regenerate(client).json()["recovery_codes"]
    (bobs,) = issue_codes(other_user, 1)
    for codes in (
        [old],
        [recovery.new_code()],
        [bobs],
        [current, old],
        [current, current],
        ["nonsense"],
    ):
        response = pdf(client, codes)
        assert response.status_code == 400, codes
        assert response.json()["code"] == "invalid_recovery_code", codes
    assert pdf(client, [current]).status_code == 200


def test_pdf_refuses_a_used_code(api, user_with_totp):
    (code,) = user_with_totp.recovery_codes
    replacement = sign_in_with(api, code).json()["recovery_codes"][0]
    client = user_with_totp.client()
    response = pdf(client, [code])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_recovery_code"
    assert pdf(client, [replacement]).status_code == 200


def test_pdf_without_codes_is_a_field_error(user_with_totp):
    response = pdf(user_with_totp.client(), [])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "recovery_codes" in response.json()


def test_pdf_needs_authentication(api, user_with_totp):
    response = pdf(api, user_with_totp.recovery_codes)
    assert response.status_code == 401
