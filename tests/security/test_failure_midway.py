"""
Failure midway (STANDARDS #35, #36, #40; DESIGN: "each flow runs in a transaction"): a
database error in the middle of signing in, confirming a method, resetting a member and
regenerating or using recovery codes is a JSON 503 ``service_unavailable`` with
``Retry-After``, leaves everything as it was (no half-done change, no event, no email), and
the same request then succeeds. The failure is injected at the database edge, after the
statement ran, as when the connection drops before its answer arrives.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from rest_framework.authtoken.models import Token

from drf_twostep.models import (
    OrganizationPolicy,
    RecoveryCode,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)
from tests.helpers import (
    AUTH,
    PASSWORD,
    assert_error,
    enable_totp,
    login,
    start_setup,
    token_client,
    totp_from_uri,
    verify,
)
from tests.security.faults import fail_on, table_statement

ME = "/api/me/"

pytestmark = pytest.mark.django_db(transaction=True)


def state_of(user) -> dict:
    return {
        "methods": list(TwoStepMethod.objects.filter(user=user).order_by("pk").values()),
        "codes": sorted(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True)),
        "profile": TwoStepProfile.objects.filter(user=user).values().first(),
        "tokens": sorted(Token.objects.filter(user=user).values_list("key", flat=True)),
        "events": list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True)),
    }


def failing(client):
    """The client answers a 500 for an unhandled error instead of raising it (none is
    expected: the database's errors are the contract's 503)."""
    client.raise_request_exception = False
    return client


def assert_unavailable(response):
    assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1


def confirm(client, method_id, code):
    return client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )


# The statements of the first confirmation, in order: the method turns active, the user's
# tokens are revoked and a fresh one issued, the profile is saved, the recovery codes are
# written, the events are recorded.
CONFIRM_STEPS = [
    table_statement("UPDATE", "drf_twostep_twostepmethod"),
    table_statement("DELETE FROM", "authtoken_token"),
    table_statement("INSERT INTO", "authtoken_token"),
    table_statement("INSERT INTO", "drf_twostep_recoverycode"),
    table_statement("INSERT INTO", "drf_twostep_securityevent"),
]


@pytest.mark.parametrize("statement", CONFIRM_STEPS)
def test_confirm_failing_midway_changes_nothing_and_can_be_retried(api, user, clock, statement):
    client = token_client(login(api).json()["token"])
    setup = start_setup(client).json()
    code = totp_from_uri(setup["otpauth_uri"]).now()
    before = state_of(user)
    mail.outbox.clear()

    with fail_on(statement) as failure:
        response = confirm(failing(client), setup["id"], code)
    assert failure.fired
    assert_unavailable(response)
    assert state_of(user) == before
    assert TwoStepMethod.objects.get(pk=setup["id"]).status == "pending"
    assert mail.outbox == []
    # The old token still works, and the same code confirms: its use was rolled back too.
    assert client.get(ME).status_code == 200
    retried = confirm(client, setup["id"], code)
    assert retried.status_code == 200, retried.content
    body = retried.json()
    assert len(body["recovery_codes"]) == 1 and body["token"]
    assert TwoStepProfile.objects.get(user=user).enabled
    assert token_client(body["token"]).get(ME).status_code == 200
    assert len(mail.outbox) == 1  # "method added", once


@pytest.fixture
def clinic_with_member(api, clock):
    User = get_user_model()
    clinic = Group.objects.create(name="Clinic")
    OrganizationPolicy.objects.create(organization=clinic, required=True)
    admin_user = User.objects.create_user("dora", "dora@example.com", PASSWORD, is_staff=True)
    member_user = User.objects.create_user("erin", "erin@example.com", PASSWORD)
    clinic.user_set.add(admin_user, member_user)
    return clinic, enable_totp(api, admin_user, clock), enable_totp(api, member_user, clock)


# A reset deletes the member's methods and recovery codes, turns the profile off, revokes the
# member's tokens and records an event on the member and on the admin.
RESET_STEPS = [
    table_statement("DELETE FROM", "drf_twostep_twostepmethod"),
    table_statement("DELETE FROM", "drf_twostep_recoverycode"),
    table_statement("UPDATE", "drf_twostep_twostepprofile"),
    table_statement("DELETE FROM", "authtoken_token"),
    table_statement("INSERT INTO", "drf_twostep_securityevent"),
]


@pytest.mark.parametrize("statement", RESET_STEPS)
def test_member_reset_failing_midway_changes_nothing_and_can_be_retried(
    clinic_with_member, statement
):
    clinic, admin, member = clinic_with_member
    reset = f"{AUTH}organizations/{clinic.pk}/members/{member.user.pk}/reset-two-step/"
    before = state_of(member.user), state_of(admin.user)
    mail.outbox.clear()

    with fail_on(statement) as failure:
        response = failing(admin.client()).post(reset)
    assert failure.fired
    assert_unavailable(response)
    assert (state_of(member.user), state_of(admin.user)) == before
    assert mail.outbox == []
    assert member.client().get(ME).status_code == 200

    assert admin.client().post(reset).status_code == 204
    assert not TwoStepMethod.objects.filter(user=member.user).exists()
    assert not RecoveryCode.objects.filter(user=member.user).exists()
    assert member.client().get(ME).status_code == 401
    assert [m.to for m in mail.outbox] == [[member.user.email]]


@pytest.mark.parametrize(
    "statement",
    [
        table_statement("DELETE FROM", "drf_twostep_recoverycode"),
        table_statement("INSERT INTO", "drf_twostep_recoverycode"),
        table_statement("INSERT INTO", "drf_twostep_securityevent"),
    ],
)
def test_regenerating_recovery_codes_failing_midway_keeps_the_old_ones(api, user, clock, statement):
    two_step = enable_totp(api, user, clock)
    before = state_of(user)
    mail.outbox.clear()
    body = {"password": PASSWORD}

    with fail_on(statement) as failure:
        response = failing(two_step.client()).post(AUTH + "two-step/recovery-codes/", body)
    assert failure.fired
    assert_unavailable(response)
    assert state_of(user) == before
    assert mail.outbox == []

    retried = two_step.client().post(AUTH + "two-step/recovery-codes/", body)
    assert retried.status_code == 201, retried.content
    (new_code,) = retried.json()["recovery_codes"]
    challenge = login(api).json()["challenge"]
    old = verify(api, challenge, recovery_code=two_step.recovery_codes[0])
    assert old.json()["code"] == "invalid_recovery_code"
    assert verify(api, challenge, recovery_code=new_code).status_code == 200


@pytest.mark.parametrize(
    "statement",
    [
        table_statement("DELETE FROM", "drf_twostep_recoverycode"),
        table_statement("INSERT INTO", "drf_twostep_recoverycode"),
        table_statement("UPDATE", "drf_twostep_loginchallenge"),
    ],
)
def test_signing_in_with_a_recovery_code_failing_midway_keeps_the_code(api, user, clock, statement):
    two_step = enable_totp(api, user, clock)
    challenge = login(api).json()["challenge"]
    before = state_of(user)
    code = two_step.recovery_codes[0]

    with fail_on(statement) as failure:
        response = verify(failing(api), challenge, recovery_code=code)
    assert failure.fired
    assert_unavailable(response)
    assert state_of(user)["codes"] == before["codes"]
    assert state_of(user)["tokens"] == before["tokens"]

    api.raise_request_exception = True
    signed_in = verify(api, challenge, recovery_code=code)
    assert signed_in.status_code == 200, signed_in.content
    assert signed_in.json()["recovery_codes"]


def test_a_password_sign_in_failing_midway_issues_no_credential(api, user):
    before = state_of(user)
    with fail_on(r"^\s*UPDATE\s+[`\"]?auth_user[`\"]?\s") as failure:  # last_login
        response = login(failing(api))
    assert failure.fired
    assert_unavailable(response)
    assert state_of(user) == before
    assert login(api).json()["status"] == "authenticated"


@pytest.mark.parametrize(
    "statement",
    [
        table_statement("UPDATE", "drf_twostep_loginchallenge"),
        table_statement("UPDATE", "drf_twostep_twostepprofile"),
        table_statement("INSERT INTO", "drf_twostep_securityevent"),
    ],
)
def test_a_wrong_code_failing_midway_counts_nothing_and_records_nothing(
    api, user, clock, statement
):
    from tests.test_login import wrong_code

    two_step = enable_totp(api, user, clock)
    challenge = login(api).json()["challenge"]
    before = state_of(user)
    with fail_on(statement) as failure:
        response = verify(failing(api), challenge, code=wrong_code(two_step))
    assert failure.fired
    assert_unavailable(response)
    # The counters and their event are one transaction: both or neither.
    assert state_of(user) == before
    assert verify(api, challenge, code=wrong_code(two_step)).json()["code"] == "invalid_code"
    profile = TwoStepProfile.objects.get(user=user)
    events = SecurityEvent.objects.filter(user=user, kind="verification_failed").count()
    assert profile.failed_attempts == events == 1


def test_a_database_error_while_authenticating_is_a_503_too(api, user):
    client = failing(token_client(login(api).json()["token"]))
    with fail_on(r"^\s*SELECT\b.*\bauthtoken_token\b") as failure:
        response = client.get(AUTH + "two-step/")
    assert failure.fired
    assert_unavailable(response)
    assert client.get(AUTH + "two-step/").status_code == 200
