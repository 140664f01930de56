"""
New-device notifications (API.md, event kinds): a sign-in from a client (user agent family and
IP network) that the user has not signed in from in 90 days records ``new_device_sign_in`` and
emails the user; the first sign-in ever records nothing; the look-up rides on a query each
sign-in makes anyway. The email is Django's locmem backend.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from drf_twostep.clients import client_key, ip_network, user_agent_family
from drf_twostep.models import LoginChallenge, SecurityEvent
from drf_twostep.settings import SETTINGS_NAME
from tests.helpers import AUTH, PASSWORD, enable_totp, statements, token_client, verify

DAY = 86400
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
FIREFOX_LINUX_NEXT = (
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
HOME = "198.51.100.7"
OFFICE = "203.0.113.20"


def client_from(user_agent=FIREFOX_LINUX, ip=HOME) -> APIClient:
    client = APIClient()
    client.defaults.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    return client


def sign_in(client, username="alice", **body):
    response = client.post(
        AUTH + "login/", {"username": username, "password": PASSWORD, **body}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def kinds(user) -> list[str]:
    return list(
        SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def new_device_events(user) -> int:
    return SecurityEvent.objects.filter(user=user, kind="new_device_sign_in").count()


def set_twostep(settings, **values):
    current = getattr(settings, SETTINGS_NAME, None) or {}
    setattr(settings, SETTINGS_NAME, {**current, **values})


# Sign-ins commit for real: the emails wait for the commit.
SIGNS_IN = pytest.mark.django_db(transaction=True)


# -- the client: family and network ---------------------------------------------------------


@pytest.mark.parametrize(
    "user_agent, family",
    [
        (FIREFOX_LINUX, ("Firefox", "Linux")),
        (FIREFOX_LINUX_NEXT, ("Firefox", "Linux")),
        (CHROME_WINDOWS, ("Chrome", "Windows")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/18.1 Safari/605.1.15",
            ("Safari", "macOS"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            ("Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            ("Chrome", "iOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            ("Chrome", "Android"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            ("Samsung Internet", "Android"),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 OPR/114.0.0.0",
            ("Opera", "Windows"),
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            ("Chrome", "ChromeOS"),
        ),
        ("python-requests/2.32.3", ("python-requests", "")),
        ("curl/8.5.0", ("curl", "")),
        ("okhttp/4.12.0", ("okhttp", "")),
        ("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", ("", "Windows")),
        ("", ("", "")),
        ("   ", ("", "")),
        ("\x00☃ not a user agent", ("", "")),
    ],
)
def test_the_user_agent_family_leaves_versions_out(user_agent, family):
    assert user_agent_family(user_agent) == family


@pytest.mark.parametrize(
    "ip, network",
    [
        ("198.51.100.7", "198.51.100.0/24"),
        ("198.51.100.250", "198.51.100.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("", ""),
        (None, ""),
        ("unknown", ""),
    ],
)
def test_the_network_is_a_24_or_a_64(ip, network):
    assert ip_network(ip) == network


def test_the_client_key_is_a_digest_of_family_and_network():
    key = client_key("Firefox", "Linux", "198.51.100.0/24")
    assert len(key) == 32 and int(key, 16) >= 0
    assert key == client_key("firefox", "LINUX", "198.51.100.0/24")
    assert key != client_key("Firefox", "Linux", "198.51.101.0/24")
    assert key != client_key("Firefox", "Windows", "198.51.100.0/24")
    assert key != client_key("Firefox", "", "Linux|198.51.100.0/24")


# -- when a sign-in is from a new client ---------------------------------------------------


@SIGNS_IN
def test_the_first_sign_in_ever_records_and_sends_nothing(user, clock):
    sign_in(client_from())
    assert kinds(user) == ["signed_in"]
    assert SecurityEvent.objects.get().client_key == client_key(
        "Firefox", "Linux", "198.51.100.0/24"
    )
    assert mail.outbox == []


@SIGNS_IN
def test_a_sign_in_from_a_new_client_records_the_event_and_emails_the_user(user, clock):
    sign_in(client_from())
    clock.shift(DAY)
    body = sign_in(client_from(CHROME_WINDOWS, OFFICE))
    assert body["status"] == "authenticated"
    assert kinds(user) == ["signed_in", "signed_in", "new_device_sign_in"]
    event = SecurityEvent.objects.get(kind="new_device_sign_in")
    assert (event.ip, event.user_agent) == (OFFICE, CHROME_WINDOWS)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "New sign-in to Test Clinic from Chrome on Windows"
    assert "Chrome on Windows on the network 203.0.113.0/24" in message.body
    assert "in the last 90 days" in message.body
    assert OFFICE in message.body and CHROME_WINDOWS in message.body
    # The user sees it in their security log.
    log = token_client(body["token"]).get(AUTH + "two-step/events/").json()["results"]
    assert log[0]["kind"] == "new_device_sign_in"


@SIGNS_IN
def test_the_same_client_within_90_days_is_known(user, clock):
    sign_in(client_from())
    # A new version of the same browser, another address of the same /24.
    for _ in range(3):
        clock.shift(89 * DAY)
        sign_in(client_from(FIREFOX_LINUX_NEXT, "198.51.100.99"))
    assert new_device_events(user) == 0
    assert mail.outbox == []


@SIGNS_IN
def test_after_91_days_the_same_client_is_new_again(user, clock):
    sign_in(client_from())
    clock.shift(91 * DAY)
    sign_in(client_from())
    assert new_device_events(user) == 1
    assert len(mail.outbox) == 1
    # And known again the day after.
    clock.shift(DAY)
    sign_in(client_from())
    assert new_device_events(user) == 1


@SIGNS_IN
def test_another_network_or_family_is_a_new_client(user, clock):
    sign_in(client_from())
    sign_in(client_from(ip="198.51.101.7"))  # another /24
    sign_in(client_from(CHROME_WINDOWS))  # another family
    sign_in(client_from(ip="2001:db8:1:2::1"))
    sign_in(client_from(ip="2001:db8:1:2:ffff::1"))  # the same /64
    sign_in(client_from(ip="2001:db8:1:3::1"))  # another /64
    assert new_device_events(user) == 4
    assert len(mail.outbox) == 4


@SIGNS_IN
def test_a_failed_second_step_is_no_sign_in(api, user, clock):
    two_step = enable_totp(api, user, clock)
    stranger = client_from(CHROME_WINDOWS, OFFICE)
    challenge = sign_in(stranger)["challenge"]
    assert verify(stranger, challenge, code="000000").status_code == 400
    assert (
        SecurityEvent.objects.filter(user=user, kind="verification_failed").get().client_key == ""
    )
    challenge = sign_in(stranger)["challenge"]
    assert verify(stranger, challenge, code=two_step.code()).status_code == 200
    assert new_device_events(user) == 1


@SIGNS_IN
def test_the_second_step_from_a_new_client(api, user, clock):
    two_step = enable_totp(api, user, clock)
    mail.outbox.clear()
    stranger = client_from(CHROME_WINDOWS, OFFICE)
    challenge = sign_in(stranger)["challenge"]
    assert verify(stranger, challenge, code=two_step.code()).status_code == 200
    assert kinds(user)[-2:] == ["verification_succeeded", "new_device_sign_in"]
    assert [m.subject for m in mail.outbox] == ["New sign-in to Test Clinic from Chrome on Windows"]
    # With a recovery code: its use and the new client, each told.
    clock.shift(30)
    mail.outbox.clear()
    other = client_from(FIREFOX_LINUX, OFFICE)
    challenge = sign_in(other)["challenge"]
    used = verify(other, challenge, recovery_code=two_step.recovery_codes[0])
    assert used.status_code == 200, used.content
    assert kinds(user)[-3:] == [
        "recovery_code_used",
        "verification_succeeded",
        "new_device_sign_in",
    ]
    assert len(mail.outbox) == 2


@SIGNS_IN
def test_a_trusted_device_on_a_new_network(api, user, clock, settings):
    set_twostep(settings, REMEMBER_DEVICE_DAYS=30)
    two_step = enable_totp(api, user, clock)
    laptop = client_from()
    challenge = sign_in(laptop)["challenge"]
    device_token = verify(laptop, challenge, code=two_step.code(), remember_device=True).json()[
        "device_token"
    ]
    assert new_device_events(user) == 1  # this laptop is not the setup's client
    clock.shift(60)
    assert sign_in(laptop, device_token=device_token)["status"] == "authenticated"
    assert new_device_events(user) == 1  # the same laptop: known
    clock.shift(60)
    travelling = client_from(ip=OFFICE)
    assert sign_in(travelling, device_token=device_token)["status"] == "authenticated"
    assert kinds(user)[-2:] == ["trusted_device_used", "new_device_sign_in"]
    assert new_device_events(user) == 2


# -- switched off --------------------------------------------------------------------------


@SIGNS_IN
@pytest.mark.parametrize("switch", ["NEW_DEVICE_NOTIFICATIONS", "NOTIFICATIONS_ENABLED"])
def test_switched_off_no_email_but_the_event_is_recorded(user, clock, settings, switch):
    set_twostep(settings, **{switch: False})
    sign_in(client_from())
    sign_in(client_from(CHROME_WINDOWS, OFFICE))
    assert new_device_events(user) == 1
    assert mail.outbox == []


@SIGNS_IN
def test_the_switch_leaves_the_other_notifications(api, user, clock, settings):
    set_twostep(settings, NEW_DEVICE_NOTIFICATIONS=False)
    enable_totp(api, user, clock)
    assert [m.subject for m in mail.outbox] == ["2-Step Verification method added on Test Clinic"]


@SIGNS_IN
def test_a_user_without_an_email_address_gets_no_email(user, clock):
    user.email = ""
    user.save()
    sign_in(client_from())
    sign_in(client_from(CHROME_WINDOWS, OFFICE))
    assert new_device_events(user) == 1
    assert mail.outbox == []


@SIGNS_IN
def test_the_email_is_translated(user, clock):
    sign_in(client_from())
    with translation.override("fr"):
        sign_in(client_from(CHROME_WINDOWS, OFFICE))
    [message] = mail.outbox
    assert message.subject == "Nouvelle connexion à Test Clinic depuis Chrome sous Windows"
    assert "Chrome sous Windows" in message.body and "90 derniers jours" in message.body


@SIGNS_IN
def test_the_template_can_be_overridden(user, clock, settings, tmp_path):
    folder = tmp_path / "drf_twostep" / "email"
    folder.mkdir(parents=True)
    (folder / "new_device_sign_in_subject.txt").write_text("Was this you, {{ user.username }}?")
    (folder / "new_device_sign_in_message.txt").write_text("{{ device }} / {{ network }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    sign_in(client_from())
    sign_in(client_from(CHROME_WINDOWS, OFFICE))
    [message] = mail.outbox
    assert (message.subject, message.body) == (
        "Was this you, alice?",
        "Chrome on Windows / 203.0.113.0/24",
    )


# -- what it costs -------------------------------------------------------------------------


# A password-only sign-in's statements: the password's user; the profile and whether this client
# is known, in one statement (the user's row, the profile outer-joined, two EXISTS); then the
# token, the sign-in's event, last_login; then the status object's methods, recovery codes and
# policies.
PASSWORD_ONLY = [
    "SELECT auth_user",
    "SELECT auth_user",
    "BEGIN",
    "SELECT authtoken_token",
    "INSERT drf_twostep_securityevent",
    "UPDATE auth_user",
    "COMMIT",
    "SELECT drf_twostep_twostepmethod",
    "SELECT drf_twostep_recoverycode",
    "SELECT drf_twostep_organizationpolicy",
]


@SIGNS_IN
def test_a_sign_in_from_a_known_or_a_new_client_costs_the_same_statements(user, clock):
    sign_in(client_from())
    with CaptureQueriesContext(connection) as known:
        sign_in(client_from())
    with CaptureQueriesContext(connection) as new:
        sign_in(client_from(CHROME_WINDOWS, OFFICE))
    assert statements(known) == statements(new) == PASSWORD_ONLY
    assert new_device_events(user) == 1
    # The look-up is the second statement's.
    looked_up = known.captured_queries[1]["sql"]
    assert looked_up.count("EXISTS") == 2 and "client_key" in looked_up


@SIGNS_IN
def test_the_second_step_from_a_new_client_costs_no_statement_more(api, user, clock):
    two_step = enable_totp(api, user, clock)
    counted = {}
    for name, client in (("known", APIClient()), ("new", client_from(CHROME_WINDOWS, OFFICE))):
        challenge = sign_in(client)["challenge"]
        with CaptureQueriesContext(connection) as captured:
            assert verify(client, challenge, code=two_step.code()).status_code == 200
        counted[name] = statements(captured)
        clock.shift(30)
    # Whether the client is new is on the challenge's row, from login/; its event on the
    # sign-in's INSERT (tests/test_enforcement.py lists the statements).
    assert counted["known"] == counted["new"] and len(counted["new"]) == 9
    assert counted["new"].count("INSERT drf_twostep_securityevent") == 1
    assert kinds(user)[-2:] == ["verification_succeeded", "new_device_sign_in"]


@SIGNS_IN
def test_the_second_step_reads_what_the_password_step_found(api, user, clock):
    two_step = enable_totp(api, user, clock)
    stranger = client_from(CHROME_WINDOWS, OFFICE)
    challenge = sign_in(stranger)["challenge"]
    stored = LoginChallenge.objects.filter(user=user).latest("pk")
    assert stored.client_key == client_key("Chrome", "Windows", ip_network(OFFICE))
    assert stored.client_new is True
    with CaptureQueriesContext(connection) as captured:
        assert verify(stranger, challenge, code=two_step.code()).status_code == 200
    # No look-up of the events at the second step: the challenge's row had the answer.
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert reads and not [sql for sql in reads if "drf_twostep_securityevent" in sql]
    assert new_device_events(user) == 1


@SIGNS_IN
@pytest.mark.parametrize(
    "password_from, code_from, new", [("known", "new", 1), ("new", "known", 0)]
)
def test_a_client_that_changes_between_the_steps_is_looked_up_again(
    api, user, clock, password_from, code_from, new
):
    two_step = enable_totp(api, user, clock)
    clients = {"known": APIClient(), "new": client_from(CHROME_WINDOWS, OFFICE)}
    challenge = sign_in(clients[password_from])["challenge"]
    with CaptureQueriesContext(connection) as captured:
        answer = verify(clients[code_from], challenge, code=two_step.code())
    assert answer.status_code == 200, answer.content
    # The second step's client is the one that counts: one look-up more (two EXISTS).
    done = statements(captured)
    assert len(done) == 10 and done[-4:-2] == [
        "SELECT auth_user",
        "INSERT drf_twostep_securityevent",
    ]
    assert new_device_events(user) == new
