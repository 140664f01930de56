"""The documentation agrees with the code: the settings page, and the HTTP contract's copy."""

import importlib.util
import sys
from pathlib import Path

import pytest

from drf_twostep.settings import DEFAULTS

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "docs" / "_ext" / "settings_page.py"

# The sdist's tests also run against an installed wheel, with no drf_twostep/ beside them.
pytestmark = pytest.mark.skipif(
    not (GENERATOR.exists() and (REPO / "drf_twostep" / "settings.py").exists()),
    reason="needs a checkout: docs/ and drf_twostep/ beside the tests",
)


@pytest.fixture(scope="module")
def settings_page():
    spec = importlib.util.spec_from_file_location("settings_page", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_every_default_has_a_comment_that_documents_it(settings_page):
    entries = settings_page.parse(settings_page.SOURCE.read_text(encoding="utf-8"))
    assert [name for entry in entries for name, _ in entry.keys] == list(DEFAULTS)
    assert settings_page.undocumented(entries) == []


def test_settings_page_is_the_one_generated_from_the_defaults(settings_page):
    committed = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_page.render(), (
        "docs/settings.md differs from DEFAULTS in drf_twostep/settings.py: "
        "run `python docs/_ext/settings_page.py` (the docs build also rewrites it)"
    )


def test_a_default_without_a_comment_is_refused(settings_page):
    source = 'DEFAULTS = {\n    # Documented.\n    "A": 1,\n    "B": 2,\n}\nX = {\n    "C": 3,\n}\n'
    assert settings_page.undocumented(settings_page.parse(source)) == []
    with pytest.raises(ValueError, match="C"):
        settings_page.render('DEFAULTS = {\n    "C": 3,\n}\n')


def test_settings_page_shows_each_default_as_written(settings_page):
    page = settings_page.render()
    assert '"TOTP_WINDOW": 1,' in page
    assert '"twostep_login": "20/min",' in page
    assert "| [`TOTP_DIGITS`](#totp_algorithm-totp_digits-totp_period) | `6` |" in page
