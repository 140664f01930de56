"""
The error codes of the package and of the contract, ``docs/API.md``, agree, both ways. The
parsing helpers here are also used by ``test_schema``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rest_framework import exceptions as drf_exceptions

from drf_twostep import exceptions
from drf_twostep.constants import ErrorCode

REPO = Path(__file__).resolve().parents[1]
API_MD = REPO / "docs" / "API.md"


def read_api_md() -> str:
    """The contract, docs/API.md."""
    return API_MD.read_text(encoding="utf-8")


def section(text: str, title_start: str) -> str:
    """The body of the ``## <title_start>...`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title_start)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"API.md has no section starting {title_start!r}"
    return match.group(1)


_ENDPOINT = re.compile(r"^###[^`\n]*`((?:[A-Z]+\s*\|\s*)*[A-Z]+)\s+([^`\s]+)`", re.M)


def endpoints(text: str) -> list[tuple[str, str]]:
    """(HTTP method, path) for every ``### `METHOD path` `` heading in ``text``."""
    return [
        (method.strip(), path)
        for methods, path in _ENDPOINT.findall(text)
        for method in methods.split("|")
    ]


def error_table(text: str) -> dict[str, int]:
    """API.md's ``## Error codes`` table: code -> HTTP status."""
    rows = re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|", section(text, "Error codes"), re.M)
    assert rows, "API.md's error table has no rows"
    table = {code: int(status) for code, status in rows}
    assert len(table) == len(rows), "a code is listed twice in API.md's error table"
    return table


PACKAGE_CODES = {code.value for code in ErrorCode}

# Codes the package gives that API.md's table does not list yet, with their status: the SMS
# provider or the mail server could not be reached when sending a code by SMS or email
# (README.md, "Error codes beyond the contract").
BEYOND_CONTRACT = {ErrorCode.DELIVERY_FAILED.value: 503}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_code_of_the_package_is_in_api_md():
    missing = PACKAGE_CODES - set(BEYOND_CONTRACT) - set(error_table(read_api_md()))
    assert not missing, f"ErrorCode values missing from docs/API.md: {sorted(missing)}"


def test_every_error_code_of_api_md_is_in_the_package():
    extra = set(error_table(read_api_md())) - PACKAGE_CODES
    assert not extra, f"docs/API.md lists codes that ErrorCode lacks: {sorted(extra)}"


def test_each_error_raises_with_the_status_api_md_gives_it():
    table = {**error_table(read_api_md()), **BEYOND_CONTRACT}
    raised = {}
    for cls in _subclasses(exceptions.TwoStepError):
        if cls.default_code != ErrorCode.INVALID.value:
            raised[cls.default_code] = cls.status_code
    # DRF's own errors under the package's codes.
    raised[ErrorCode.INVALID.value] = drf_exceptions.ValidationError.status_code
    raised[ErrorCode.THROTTLED.value] = drf_exceptions.Throttled.status_code
    raised[ErrorCode.UNSUPPORTED_MEDIA_TYPE.value] = drf_exceptions.UnsupportedMediaType.status_code
    assert set(raised) == PACKAGE_CODES
    mismatched = {
        code: (status, table.get(code))
        for code, status in raised.items()
        if table.get(code) != status
    }
    assert not mismatched, f"(package status, API.md status): {mismatched}"


def test_codes_beyond_the_contract_are_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, status in BEYOND_CONTRACT.items():
        assert f"`{code}`" in readme and str(status) in readme, code
