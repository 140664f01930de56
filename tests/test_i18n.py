"""Translations: answers follow Accept-Language, and the French catalogue is complete."""

import gettext
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import translation

import drf_twostep
from tests.helpers import AUTH, assert_error, login, token_client
from tests.tools import require_tool

LOCALE = Path(drf_twostep.__file__).resolve().parent / "locale"
FRENCH_PO = LOCALE / "fr" / "LC_MESSAGES" / "django.po"
FRENCH_MO = LOCALE / "fr" / "LC_MESSAGES" / "django.mo"


@pytest.fixture
def i18n(settings):
    """LocaleMiddleware after the session middleware, as the installation docs say.

    Ask for it before any client fixture: a client keeps the middleware of its first request.
    """
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "django.middleware.locale.LocaleMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.LANGUAGE_CODE = "en"


def test_a_wrong_password_is_answered_in_french(i18n, api, user):
    response = api.post(
        AUTH + "login/",
        {"username": "alice", "password": "wrong"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    body = assert_error(response, 400, "invalid_credentials")
    assert body["detail"] == (
        "Impossible de se connecter avec le nom d'utilisateur et le mot de passe fournis."
    )
    assert response["Content-Language"] == "fr"


def test_a_wrong_code_is_answered_in_french(i18n, api, user_with_totp):
    challenge = login(api).json()["challenge"]
    response = api.post(
        AUTH + "login/verify/",
        {"challenge": challenge, "code": "000000"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    body = assert_error(response, 400, "invalid_code")
    assert body["detail"].startswith("Ce code n'est pas valide.")


def test_enforcement_errors_are_answered_in_french(i18n, api, user_with_totp):
    # A password-only session of a user with 2SV on: the session class refuses it.
    api.force_login(user_with_totp.user)
    response = api.get(AUTH + "two-step/methods/", HTTP_ACCEPT_LANGUAGE="fr")
    body = assert_error(response, 403, "two_step_verification_required")
    assert body["detail"] == "Connectez-vous avec la validation en deux étapes pour continuer."


def test_field_errors_are_answered_in_french(i18n, api, user):
    token = login(api).json()["token"]
    response = token_client(token).post(
        AUTH + "two-step/methods/",
        {"kind": "sms", "password": "correct horse battery staple", "phone_number": "12"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400, response.content
    assert "numéro de mobile valide" in str(response.json())


def test_without_accept_language_the_answer_is_in_english(i18n, api, user):
    response = api.post(AUTH + "login/", {"username": "alice", "password": "wrong"}, format="json")
    assert assert_error(response, 400, "invalid_credentials")["detail"].startswith("Unable")


def test_emails_are_written_in_the_language_of_the_request(i18n, api, user):
    token = login(api).json()["token"]
    response = token_client(token).post(
        AUTH + "two-step/methods/",
        {"kind": "email", "password": "correct horse battery staple"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 201, response.content
    (message,) = mail.outbox
    assert "est votre code de validation" in message.subject
    assert message.body.startswith("Bonjour alice,")
    assert "Ne le communiquez jamais" in message.body


def test_the_recovery_code_pdf_is_in_french(tmp_path):
    from drf_twostep.pdf import render_recovery_codes

    with translation.override("fr"):
        document = render_recovery_codes(
            site_name="Clinique", account="alice", codes=["ABCD-EFGH"], date=date(2026, 11, 28)
        )
    path = tmp_path / "codes.pdf"
    path.write_bytes(document)
    text = subprocess.run(
        [require_tool("pdftotext"), str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert "Code de secours de la validation en deux étapes" in text
    assert "Chaque code ne fonctionne qu'une fois." in " ".join(text.split())


# -- the catalogue ---------------------------------------------------------------------------


def _catalog(mo_path):
    with open(mo_path, "rb") as fh:
        return dict(gettext.GNUTranslations(fh)._catalog)


def test_the_compiled_french_catalogue_is_the_po_file(tmp_path):
    msgfmt = require_tool("msgfmt")
    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check-format", "-o", fresh, FRENCH_PO], check=True)
    assert _catalog(FRENCH_MO) == _catalog(fresh), (
        "django.mo is out of date: run `django-admin compilemessages` in drf_twostep/"
    )


def test_every_translatable_string_has_a_french_translation(tmp_path, monkeypatch):
    require_tool("xgettext")
    msgfmt = require_tool("msgfmt")
    # makemessages on a copy of the package: the strings of today's code, merged with the
    # translations of the committed catalogue.
    package = tmp_path / "drf_twostep"
    shutil.copytree(LOCALE.parent, package, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(package)
    call_command("makemessages", locale=["fr"], no_obsolete=True, no_wrap=True, verbosity=0)
    po = package / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    stats = subprocess.run(
        [msgfmt, "--statistics", "-o", "/dev/null", po], capture_output=True, text=True
    ).stderr
    assert re.fullmatch(r"\d+ translated messages?\.\n", stats), (
        f"French catalogue incomplete ({stats.strip()}): in drf_twostep/ run "
        "`django-admin makemessages -l fr --no-obsolete --no-wrap`, translate the new "
        "entries of locale/fr/LC_MESSAGES/django.po, then `django-admin compilemessages`"
    )
