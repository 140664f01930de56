"""
Translations: answers, emails and the recovery-code PDF follow Accept-Language in every language
that ships with the package, and each shipped catalogue is complete, checked and compiled.
"""

import gettext
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.formats import date_format

import drf_twostep
from tests.helpers import AUTH, PASSWORD, assert_error, login, token_client
from tests.tools import require_tool

LOCALE = Path(drf_twostep.__file__).resolve().parent / "locale"


@dataclass(frozen=True)
class Language:
    """A shipped language and a few of its sentences, as a reader of that language sees them."""

    locale: str  # the directory under drf_twostep/locale/
    code: str  # what Accept-Language asks for and Content-Language answers
    plural_forms: str
    wrong_password: str  # invalid_credentials
    sign_in_required: str  # two_step_verification_required
    new_codes_subject: str  # the recovery_codes_regenerated email, site "Test Clinic"
    hello: str  # the first line of every email to alice
    pdf_title: str  # the PDF's line under the site name
    pdf_once: str  # the first sentence of the PDF's note

    def __str__(self):
        return self.locale


LANGUAGES = [
    Language(
        "fr",
        "fr",
        "nplurals=2; plural=(n > 1);",
        "Impossible de se connecter avec le nom d'utilisateur et le mot de passe fournis.",
        "Connectez-vous avec la validation en deux étapes pour continuer.",
        "Nouveaux codes de secours sur Test Clinic",
        "Bonjour alice,",
        "Code de secours de la validation en deux étapes",
        "Chaque code ne fonctionne qu'une fois.",
    ),
    Language(
        "de",
        "de",
        "nplurals=2; plural=(n != 1);",
        "Anmeldung mit dem angegebenen Benutzernamen und Passwort nicht möglich.",
        "Melden Sie sich mit der Bestätigung in zwei Schritten an, um fortzufahren.",
        "Neue Wiederherstellungscodes bei Test Clinic",
        "Hallo alice,",
        "Wiederherstellungscode für die Bestätigung in zwei Schritten",
        "Jeder Code funktioniert nur einmal.",
    ),
    Language(
        "es",
        "es",
        "nplurals=2; plural=(n != 1);",
        "No se puede iniciar sesión con el nombre de usuario y la contraseña proporcionados.",
        "Inicia sesión con la verificación en dos pasos para continuar.",
        "Nuevos códigos de recuperación en Test Clinic",
        "Hola, alice:",
        "Código de recuperación de la verificación en dos pasos",
        "Cada código funciona una sola vez.",
    ),
    Language(
        "pt_BR",
        "pt-br",
        "nplurals=2; plural=(n > 1);",
        "Não é possível fazer login com o nome de usuário e a senha informados.",
        "Faça login com a verificação em duas etapas para continuar.",
        "Novos códigos de recuperação em Test Clinic",
        "Olá, alice,",
        "Código de recuperação da verificação em duas etapas",
        "Cada código funciona uma única vez.",
    ),
    Language(
        "it",
        "it",
        "nplurals=2; plural=(n != 1);",
        "Impossibile accedere con il nome utente e la password forniti.",
        "Accedi con la verifica in due passaggi per continuare.",
        "Nuovi codici di recupero su Test Clinic",
        "Ciao alice,",
        "Codice di recupero della verifica in due passaggi",
        "Ogni codice funziona una sola volta.",
    ),
    Language(
        "nl",
        "nl",
        "nplurals=2; plural=(n != 1);",
        "Kan niet inloggen met de opgegeven gebruikersnaam en het opgegeven wachtwoord.",
        "Log in met verificatie in twee stappen om verder te gaan.",
        "Nieuwe herstelcodes bij Test Clinic",
        "Hallo alice,",
        "Herstelcode voor verificatie in twee stappen",
        "Elke code werkt maar één keer.",
    ),
]

each_language = pytest.mark.parametrize("language", LANGUAGES, ids=str)


@pytest.fixture
def i18n(settings):
    """LocaleMiddleware after the session middleware, as the installation docs say.

    Ask for it before any client fixture: a client keeps the middleware of its first request.
    The language a request activated stays active in the thread, so it is reset afterwards.
    """
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "django.middleware.locale.LocaleMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.LANGUAGE_CODE = "en"
    yield
    translation.deactivate()


def pdf_text(tmp_path, document):
    path = tmp_path / "codes.pdf"
    path.write_bytes(document)
    return subprocess.run(
        [require_tool("pdftotext"), str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()


# -- answers, emails and the PDF in each language ----------------------------------------------


@each_language
def test_a_wrong_password_is_answered_in_the_language_of_the_request(i18n, api, user, language):
    response = api.post(
        AUTH + "login/",
        {"username": "alice", "password": "wrong"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language.code,
    )
    body = assert_error(response, 400, "invalid_credentials")
    assert body["detail"] == language.wrong_password
    assert response["Content-Language"] == language.code


@each_language
def test_enforcement_errors_are_answered_in_the_language_of_the_request(
    i18n, api, user_with_totp, language
):
    # A password-only session of a user with 2SV on: the session class refuses it.
    api.force_login(user_with_totp.user)
    response = api.get(AUTH + "two-step/methods/", HTTP_ACCEPT_LANGUAGE=language.code)
    body = assert_error(response, 403, "two_step_verification_required")
    assert body["detail"] == language.sign_in_required


# Real commits: notifications are sent when the transaction commits, inside the request.
@pytest.mark.django_db(transaction=True)
@each_language
def test_notifications_are_written_in_the_language_of_the_request(
    i18n, api, user_with_totp, language
):
    mail.outbox.clear()
    response = user_with_totp.client().post(
        AUTH + "two-step/recovery-codes/",
        {"password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language.code,
    )
    assert response.status_code == 201, response.content
    (message,) = mail.outbox
    assert message.subject == language.new_codes_subject
    assert message.body.startswith(language.hello + "\n")
    # The message and the footer it includes, not only the greeting.
    assert "Your old codes no longer work" not in message.body
    assert "If this was not you" not in message.body


@each_language
def test_the_recovery_code_pdf_is_in_the_language_of_the_request(
    i18n, tmp_path, user_with_totp, language
):
    (code,) = user_with_totp.recovery_codes
    response = user_with_totp.client().post(
        AUTH + "two-step/recovery-codes/pdf/",
        {"recovery_codes": [code]},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language.code,
    )
    assert response.status_code == 200, response.content
    assert response["Content-Language"] == language.code
    text = pdf_text(tmp_path, response.content)
    lines = text.splitlines()
    assert language.pdf_title in lines
    with translation.override(language.code):
        created = date_format(timezone.localdate(), "DATE_FORMAT")
    assert any(line.endswith(created) for line in lines), (created, lines)
    assert language.pdf_once in " ".join(text.split())
    # The PDF fonts are Latin-1: a character outside it would come out as "?".
    assert "?" not in text


def test_without_accept_language_the_answer_is_in_english(i18n, api, user):
    response = api.post(AUTH + "login/", {"username": "alice", "password": "wrong"}, format="json")
    assert assert_error(response, 400, "invalid_credentials")["detail"].startswith("Unable")


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


def test_field_errors_are_answered_in_french(i18n, api, user):
    token = login(api).json()["token"]
    response = token_client(token).post(
        AUTH + "two-step/methods/",
        {"kind": "sms", "password": PASSWORD, "phone_number": "12"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400, response.content
    assert "numéro de mobile valide" in str(response.json())


def test_code_emails_are_written_in_the_language_of_the_request(i18n, api, user):
    token = login(api).json()["token"]
    response = token_client(token).post(
        AUTH + "two-step/methods/",
        {"kind": "email", "password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 201, response.content
    (message,) = mail.outbox
    assert "est votre code de validation" in message.subject
    assert message.body.startswith("Bonjour alice,")
    assert "Ne le communiquez jamais" in message.body


# -- the catalogues ----------------------------------------------------------------------------


def po_file(locale, root=LOCALE):
    return root / locale / "LC_MESSAGES" / "django.po"


def _catalog(mo_path):
    with open(mo_path, "rb") as fh:
        return gettext.GNUTranslations(fh)


def test_every_shipped_catalogue_is_tested():
    shipped = sorted(path.name for path in LOCALE.iterdir())
    assert shipped == sorted(language.locale for language in LANGUAGES)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """A copy of the package whose catalogues makemessages has merged with the strings of
    today's code and templates (new strings arrive untranslated, removed ones go)."""
    require_tool("xgettext")
    package = tmp_path_factory.mktemp("extracted") / "drf_twostep"
    shutil.copytree(LOCALE.parent, package, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    cwd = os.getcwd()
    os.chdir(package)
    try:
        locales = [language.locale for language in LANGUAGES]
        call_command("makemessages", locale=locales, no_obsolete=True, no_wrap=True, verbosity=0)
    finally:
        os.chdir(cwd)
    return package / "locale"


@each_language
def test_every_translatable_string_is_translated(extracted, language):
    msgfmt = require_tool("msgfmt")
    stats = subprocess.run(
        [msgfmt, "--statistics", "-o", "/dev/null", po_file(language.locale, extracted)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},  # msgfmt's own messages in English
    ).stderr
    # Anything else reads "N translated messages, M fuzzy translations, K untranslated messages."
    assert re.fullmatch(r"\d+ translated messages?\.\n", stats), (
        f"{language.locale} catalogue incomplete ({stats.strip()}): run `make messages`, "
        "translate the new entries of its django.po, and run `make messages` again"
    )


@each_language
def test_the_catalogue_passes_msgfmt_check(tmp_path, language):
    # --check: placeholders of python-format strings, plural forms, the header.
    subprocess.run(
        [require_tool("msgfmt"), "--check", "-o", tmp_path / "django.mo", po_file(language.locale)],
        check=True,
    )


@each_language
def test_the_compiled_catalogue_is_the_po_file(tmp_path, language):
    fresh = tmp_path / "django.mo"
    subprocess.run([require_tool("msgfmt"), "-o", fresh, po_file(language.locale)], check=True)
    shipped = _catalog(po_file(language.locale).with_suffix(".mo"))
    assert shipped._catalog == _catalog(fresh)._catalog, (
        f"locale/{language.locale}/LC_MESSAGES/django.mo is out of date: run `make messages`"
    )


@each_language
def test_the_catalogue_names_its_language_and_plural_forms(language):
    info = _catalog(po_file(language.locale).with_suffix(".mo")).info()
    assert info["language"] == language.locale
    assert info["plural-forms"] == language.plural_forms
