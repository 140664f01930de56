"""
The whole journey through the generated Python client (openapi-python-client), against the live
example project: ``python journey_py.py`` with ``twostep_client`` importable and the environment
that ``test_journeys.py`` sets (TWOSTEP_BASE_URL, TWOSTEP_SERVER_LOG, TWOSTEP_JOURNEY). Every
request goes through the client; the codes come from oathtool (authenticator app) and from the
server's log, where the console SMS backend writes the text messages. docs/clients.md shows
parts of this file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from twostep_client import AuthenticatedClient, Client
from twostep_client.api.organizations import (
    organization_member_reset_two_step,
    organization_members_list,
)
from twostep_client.api.two_step_verification import (
    two_step_login,
    two_step_login_send_code,
    two_step_login_verify,
    two_step_logout,
    two_step_methods_confirm,
    two_step_methods_create,
    two_step_methods_destroy,
    two_step_methods_update,
    two_step_recovery_codes_pdf,
    two_step_status,
)
from twostep_client.models import (
    Authenticated,
    Confirm,
    ConfirmResponse,
    ErrorCode,
    ErrorResponse,
    KindEnum,
    Login,
    MethodSetup,
    MethodSetupResponse,
    PaginatedMemberList,
    Password,
    PatchedMethodUpdate,
    RecoveryCodesPdf,
    SendCode,
    SendCodeResponse,
    SetupRequired,
    Status,
    ValidationErrorResponse,
    VerificationRequired,
    VerifyLogin,
)
from twostep_client.types import File, Response

T = TypeVar("T")

BASE_URL = os.environ["TWOSTEP_BASE_URL"]
SERVER_LOG = Path(os.environ["TWOSTEP_SERVER_LOG"])
JOURNEY: dict[str, str] = json.loads(os.environ["TWOSTEP_JOURNEY"])
errors_checked: list[str] = []


def answer(response: Response[Any], status: int, kind: type[T]) -> T:
    """The parsed body of ``response``, which must have ``status`` and be a ``kind``."""
    parsed = response.parsed
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(parsed, kind), (kind, parsed)
    return parsed


def error(response: Response[Any], status: int, code: ErrorCode) -> None:
    """``response`` must be an error of ``status`` whose typed ``code`` is ``code``."""
    parsed = response.parsed
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(parsed, ErrorResponse | ValidationErrorResponse), parsed
    assert parsed.code is code, (parsed.code, code)
    assert parsed.detail
    errors_checked.append(code.value)


def totp(secret: str) -> str:
    """The authenticator app's current code, from oathtool."""
    command = ["oathtool", "--totp", "--base32", secret]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def next_time_step() -> None:
    """Wait for the next 30-second step, so that the next code is a new one."""
    time.sleep(30 - time.time() % 30 + 0.5)


def sms_code(phone_number: str, after: int) -> str:
    """The code of the first text message to ``phone_number`` that the console SMS backend
    wrote to the server's log past offset ``after``."""
    deadline = time.monotonic() + 10
    pattern = re.compile(rf"^SMS to {re.escape(phone_number)}\n(\d{{6}}) ", re.M)
    while time.monotonic() < deadline:
        found = pattern.search(SERVER_LOG.read_text()[after:])
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no text message to {phone_number} in {SERVER_LOG}")


def log_size() -> int:
    return len(SERVER_LOG.read_text())


def signed_in(token: str | None) -> AuthenticatedClient:
    """A client that sends ``Authorization: Token <token>`` (the token issuer gives one)."""
    assert token is not None
    return AuthenticatedClient(base_url=BASE_URL, token=token, prefix="Token")


def main() -> None:
    # [sign-in]
    anonymous = Client(base_url=BASE_URL)
    username, password = JOURNEY["username"], JOURNEY["password"]

    # Sign in: the clinic requires 2SV and the admin has none yet.
    error(
        two_step_login.sync_detailed(client=anonymous, body=Login(username, password + "x")),
        400,
        ErrorCode.INVALID_CREDENTIALS,
    )
    setup = answer(
        two_step_login.sync_detailed(client=anonymous, body=Login(username, password)),
        200,
        SetupRequired,
    )
    assert setup.two_step.required and not setup.two_step.enabled
    setup_client = signed_in(setup.token)
    # [/sign-in]

    # An authenticator app: step one (the key) and step two (a code from it).
    error(
        two_step_methods_create.sync_detailed(
            client=setup_client,
            body=MethodSetup(kind=KindEnum.AUTHENTICATOR_APP, password="wrong"),
        ),
        400,
        ErrorCode.PASSWORD_INCORRECT,
    )
    error(
        two_step_methods_create.sync_detailed(
            client=setup_client, body=MethodSetup(kind=KindEnum("sms"), password=password)
        ),
        400,
        ErrorCode.INVALID,
    )
    app = answer(
        two_step_methods_create.sync_detailed(
            client=setup_client,
            body=MethodSetup(kind=KindEnum.AUTHENTICATOR_APP, password=password),
        ),
        201,
        MethodSetupResponse,
    )
    assert isinstance(app.otpauth_uri, str)
    secret = parse_qs(urlsplit(app.otpauth_uri).query)["secret"][0]
    code = totp(secret)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    error(
        two_step_methods_confirm.sync_detailed(app.id, client=setup_client, body=Confirm(wrong)),
        400,
        ErrorCode.INVALID_CODE,
    )
    confirmed = answer(
        two_step_methods_confirm.sync_detailed(app.id, client=setup_client, body=Confirm(code)),
        200,
        ConfirmResponse,
    )
    assert confirmed.method.status.value == "active"
    assert isinstance(confirmed.recovery_codes, list) and len(confirmed.recovery_codes) == 1
    assert isinstance(confirmed.token, str)
    # 2SV turned on: the setup credential was revoked, the new one works.
    error(two_step_status.sync_detailed(client=setup_client), 401, ErrorCode.AUTHENTICATION_FAILED)
    client = signed_in(confirmed.token)
    assert answer(two_step_status.sync_detailed(client=client), 200, Status).enabled

    # Sign out, then in with a recovery code: a replacement comes back.
    assert two_step_logout.sync_detailed(client=client).status_code == 204
    challenge = answer(
        two_step_login.sync_detailed(client=anonymous, body=Login(username, password)),
        200,
        VerificationRequired,
    )
    assert challenge.default_method == app.id
    error(
        two_step_login_verify.sync_detailed(
            client=anonymous, body=VerifyLogin(challenge="not-a-challenge", code=code)
        ),
        400,
        ErrorCode.INVALID_CHALLENGE,
    )
    error(
        two_step_login_verify.sync_detailed(
            client=anonymous, body=VerifyLogin(challenge=challenge.challenge, code=code)
        ),
        400,
        ErrorCode.CODE_ALREADY_USED,
    )
    error(
        two_step_login_verify.sync_detailed(
            client=anonymous,
            body=VerifyLogin(challenge=challenge.challenge, recovery_code="AAAA-BBBB-CCCC-DDDD"),
        ),
        400,
        ErrorCode.INVALID_RECOVERY_CODE,
    )
    error(
        two_step_login_send_code.sync_detailed(
            client=anonymous, body=SendCode(challenge=challenge.challenge, method=app.id)
        ),
        400,
        ErrorCode.METHOD_DOES_NOT_SEND,
    )
    recovered = answer(
        two_step_login_verify.sync_detailed(
            client=anonymous,
            body=VerifyLogin(
                challenge=challenge.challenge, recovery_code=confirmed.recovery_codes[0]
            ),
        ),
        200,
        Authenticated,
    )
    assert isinstance(recovered.recovery_codes, list) and len(recovered.recovery_codes) == 1
    assert recovered.recovery_codes != confirmed.recovery_codes
    client = signed_in(recovered.token)

    # The PDF of the replacement code.
    error(
        two_step_recovery_codes_pdf.sync_detailed(
            client=client, body=RecoveryCodesPdf(confirmed.recovery_codes)
        ),
        400,
        ErrorCode.INVALID_RECOVERY_CODE,
    )
    pdf = answer(
        two_step_recovery_codes_pdf.sync_detailed(
            client=client, body=RecoveryCodesPdf(recovered.recovery_codes)
        ),
        200,
        File,
    )
    assert pdf.payload.read().startswith(b"%PDF")

    # A second method, SMS: the code arrives in a text message.
    phone = JOURNEY["phone_number"]
    offset = log_size()
    sms = answer(
        two_step_methods_create.sync_detailed(
            client=client,
            body=MethodSetup(kind=KindEnum.SMS, password=password, phone_number=phone),
        ),
        201,
        MethodSetupResponse,
    )
    assert sms.status.value == "pending"
    sms_confirmed = answer(
        two_step_methods_confirm.sync_detailed(
            sms.id, client=client, body=Confirm(sms_code(phone, offset))
        ),
        200,
        ConfirmResponse,
    )
    # 2SV was on already: no new recovery codes, no new credential.
    assert not sms_confirmed.recovery_codes and sms_confirmed.token is None

    # SMS becomes the default method.
    updated = answer(
        two_step_methods_update.sync_detailed(
            sms.id, client=client, body=PatchedMethodUpdate(is_default=True)
        ),
        200,
        type(sms_confirmed.method),
    )
    assert updated.is_default
    assert answer(two_step_status.sync_detailed(client=client), 200, Status).default_method == (
        sms.id
    )

    # [second-step]
    # Sign out, then in with a code of the authenticator app (a new one: the next time step).
    assert two_step_logout.sync_detailed(client=client).status_code == 204
    next_time_step()
    challenge = answer(
        two_step_login.sync_detailed(client=anonymous, body=Login(username, password)),
        200,
        VerificationRequired,
    )
    assert challenge.default_method == sms.id
    signed = answer(
        two_step_login_verify.sync_detailed(
            client=anonymous,
            body=VerifyLogin(challenge=challenge.challenge, code=totp(secret), method=app.id),
        ),
        200,
        Authenticated,
    )
    client = signed_in(signed.token)
    # [/second-step]

    # Delete the authenticator app; the last method cannot go while the clinic requires 2SV.
    error(
        two_step_methods_destroy.sync_detailed(app.id, client=client, body=Password("wrong")),
        400,
        ErrorCode.PASSWORD_INCORRECT,
    )
    assert (
        two_step_methods_destroy.sync_detailed(
            app.id, client=client, body=Password(password)
        ).status_code
        == 204
    )
    error(
        two_step_methods_destroy.sync_detailed(sms.id, client=client, body=Password(password)),
        409,
        ErrorCode.METHOD_REQUIRED_BY_ORGANIZATION,
    )
    status = answer(two_step_status.sync_detailed(client=client), 200, Status)
    assert [m.id for m in status.methods] == [sms.id] and status.default_method == sms.id
    assert two_step_logout.sync_detailed(client=client).status_code == 204

    # The clinic's admin, signed in afresh (with the SMS code), resets a member.
    challenge = answer(
        two_step_login.sync_detailed(client=anonymous, body=Login(username, password)),
        200,
        VerificationRequired,
    )
    offset = log_size()
    sent = answer(
        two_step_login_send_code.sync_detailed(
            client=anonymous, body=SendCode(challenge=challenge.challenge, method=sms.id)
        ),
        202,
        SendCodeResponse,
    )
    assert sent.expires_in > 0
    signed = answer(
        two_step_login_verify.sync_detailed(
            client=anonymous,
            body=VerifyLogin(challenge=challenge.challenge, code=sms_code(phone, offset)),
        ),
        200,
        Authenticated,
    )
    admin = signed_in(signed.token)
    organization, member = JOURNEY["organization"], JOURNEY["member"]
    error(
        organization_members_list.sync_detailed(JOURNEY["other_organization"], client=admin),
        404,
        ErrorCode.NOT_FOUND,
    )
    members = answer(
        organization_members_list.sync_detailed(organization, client=admin),
        200,
        PaginatedMemberList,
    )
    by_id = {m.user.id: m for m in members.results}
    assert by_id[member].enabled and by_id[member].compliant
    assert (
        organization_member_reset_two_step.sync_detailed(
            organization, member, client=admin
        ).status_code
        == 204
    )
    members = answer(
        organization_members_list.sync_detailed(organization, client=admin, compliant=False),
        200,
        PaginatedMemberList,
    )
    assert [m.user.id for m in members.results] == [member]
    assert not members.results[0].enabled and members.results[0].methods == []

    assert len(set(errors_checked)) >= 5, errors_checked
    print(f"python journey: passed, {len(errors_checked)} error answers checked by code")


if __name__ == "__main__":
    main()
    sys.exit(0)
