"""
The setup QR code encodes exactly ``otpauth_uri`` (API.md, ``POST two-step/methods/``).

The package's own SVG is rendered to PNG with ``rsvg-convert`` (Debian: librsvg2-bin) and read
back with ``zbarimg`` (Debian: zbar-tools), as a phone camera would read it.
"""

from __future__ import annotations

import base64
import subprocess
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from tests.helpers import PASSWORD, login, start_setup, token_client
from tests.tools import require_tool

SVG_PREFIX = "data:image/svg+xml;base64,"
PIXELS_PER_MODULE = 8


def decode_qr(data_uri: str, tmp_path) -> list[str]:
    """The texts of the QR symbols that zbarimg finds in the SVG data URI."""
    rsvg = require_tool("rsvg-convert")
    zbarimg = require_tool("zbarimg")
    assert data_uri.startswith(SVG_PREFIX)
    svg = base64.b64decode(data_uri[len(SVG_PREFIX) :], validate=True)
    # Render whole pixels per QR module: the viewBox counts modules (quiet zone included).
    _, _, width, height = (float(v) for v in ET.fromstring(svg).attrib["viewBox"].split())
    source = tmp_path / "qr.svg"
    source.write_bytes(svg)
    png = tmp_path / "qr.png"
    subprocess.run(
        [
            rsvg,
            "--width",
            str(int(width * PIXELS_PER_MODULE)),
            "--height",
            str(int(height * PIXELS_PER_MODULE)),
            "--background-color",
            "white",
            "--output",
            str(png),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = subprocess.run([zbarimg, "--raw", "-q", str(png)], capture_output=True, timeout=60)
    assert result.returncode == 0, f"zbarimg found no QR code: {result.stderr.decode()}"
    return result.stdout.decode().splitlines()


def test_qr_code_decodes_to_exactly_the_otpauth_uri(api, user, clock, tmp_path):
    body = start_setup(token_client(login(api).json()["token"])).json()
    assert decode_qr(body["qr_code"], tmp_path) == [body["otpauth_uri"]]


@pytest.mark.parametrize(
    "issuer, username, email",
    [
        ("Clínica São João & Co: Lab", "dora", "dora+2sv@example.com"),
        ("A" * 60, "eve", "e" * 50 + "@example.org"),
        ("Test Clinic", "frank", ""),
    ],
)
def test_qr_code_of_unusual_names_decodes_to_exactly_the_otpauth_uri(
    api, db, clock, tmp_path, issuer, username, email
):
    get_user_model().objects.create_user(username, email, PASSWORD)
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": issuer}):
        body = start_setup(token_client(login(api, username).json()["token"])).json()
    assert decode_qr(body["qr_code"], tmp_path) == [body["otpauth_uri"]]


def test_each_setup_gets_its_own_qr_code(api, user, clock, tmp_path):
    client = token_client(login(api).json()["token"])
    first = start_setup(client).json()
    second = start_setup(client).json()
    assert first["qr_code"] != second["qr_code"]
    assert decode_qr(second["qr_code"], tmp_path) == [second["otpauth_uri"]]
