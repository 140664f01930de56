from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from drf_twostep.models import RecoveryCode, SecurityEvent, TwoStepMethod
from tests.helpers import login


def test_reset_command_turns_two_step_off_and_signs_the_user_out(
    api, user_with_totp, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("twostep_reset", "alice", stdout=out)
    assert "alice" in out.getvalue()
    assert not TwoStepMethod.objects.filter(user=user_with_totp.user).exists()
    assert not RecoveryCode.objects.filter(user=user_with_totp.user).exists()
    assert not Token.objects.filter(user=user_with_totp.user).exists()
    assert (
        SecurityEvent.objects.filter(user=user_with_totp.user, kind="reset_by_admin").count() == 1
    )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    # The next login needs the password only.
    assert login(api).json()["status"] == "authenticated"


def test_reset_command_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="nobody"):
        call_command("twostep_reset", "nobody")


def test_cleanup_deletes_only_what_can_never_be_used_again(api, user_with_totp, clock):
    from drf_twostep import sms
    from drf_twostep.models import DeliveredCode, LoginChallenge
    from tests.helpers import start_setup

    client = user_with_totp.client()
    login(api)  # a challenge that will expire
    start_setup(client, kind="sms", phone_number="+14155552671")  # a pending method and code
    clock.shift(301)
    fresh = login(api).json()["challenge"]  # still valid
    assert LoginChallenge.objects.count() == 2
    out = StringIO()
    call_command("twostep_cleanup", stdout=out)
    assert (
        "Deleted 1 login challenges, 0 codes, 0 unconfirmed methods and 0 expired trusted devices."
        in out.getvalue()
    )
    assert LoginChallenge.objects.count() == 1
    clock.shift(600)  # the code (600 s) and the pending method (900 s) have now expired
    call_command("twostep_cleanup", stdout=out)
    assert (
        "Deleted 1 login challenges, 1 codes, 1 unconfirmed methods and 0 expired trusted devices."
        in out.getvalue()
    )
    assert not DeliveredCode.objects.exists()
    assert list(TwoStepMethod.objects.values_list("status", flat=True)) == ["active"]
    assert sms.outbox and fresh
