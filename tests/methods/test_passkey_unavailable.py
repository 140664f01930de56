"""
Without the passkeys extra (``webauthn`` not importable), in a process of its own: the
package works, the passkey kind is unavailable (``method_not_allowed``), and the system check
says why when the project asks for passkeys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
sys.modules["webauthn"] = None  # what an absent package looks like to `import webauthn`

from tests import conftest
conftest.pytest_configure(None)

from django.core.checks import run_checks
from django.db import connection
from django.test import override_settings
from django.test.utils import setup_test_environment
from rest_framework.test import APIClient

setup_test_environment()
connection.creation.create_test_db(verbosity=0)

from django.contrib.auth import get_user_model
from drf_twostep.methods import get_method_class, passkey

PASSKEYS = {
    "ISSUER_NAME": "Test Clinic",
    "METHOD_CLASSES": [
        "drf_twostep.methods.totp.AuthenticatorAppMethod",
        "drf_twostep.methods.passkey.PasskeyMethod",
    ],
    "WEBAUTHN_RP_ID": "example.com",
    "WEBAUTHN_ORIGINS": ["https://example.com"],
}
result = {"default_checks": [m.id for m in run_checks() if m.id.startswith("drf_twostep.")]}
with override_settings(DRF_TWOSTEP=PASSKEYS):
    result["checks"] = [m.id for m in run_checks() if m.id.startswith("drf_twostep.")]
    result["kind"] = repr(get_method_class("passkey"))
    get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    api = APIClient()
    token = api.post("/api/auth/login/", {"username": "alice", "password": "pw"},
                     format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION="Token " + token)
    for kind in ("passkey", "authenticator_app"):
        answer = api.post("/api/auth/two-step/methods/",
                          {"kind": kind, "password": "pw"}, format="json")
        result[kind] = [answer.status_code, answer.json().get("code")]
print(json.dumps(result))
"""


def test_without_the_extra_the_kind_is_unavailable_and_the_check_says_why():
    # On SQLite in memory: the suite's own test database may be the server's.
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["default_checks"] == []
    assert result["checks"] == ["drf_twostep.E013"]
    assert result["kind"] == "None"
    assert result["passkey"] == [400, "method_not_allowed"]
    assert result["authenticator_app"] == [201, None]
