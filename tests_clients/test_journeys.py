"""
The journey (sign in, set up an authenticator app, sign out and in with a code and with a
recovery code, the PDF, SMS, the default method, deleting a method, an organization admin
resetting a member, and error answers checked by their typed code) through each generated
client, against the example project served on a scratch database.
"""

from __future__ import annotations

import json
import os
import sys

from conftest import HERE, NODE_BIN, PYTHON_OUTPUT, TS_OUTPUT, checked


def journey_env(server, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "TWOSTEP_BASE_URL": server.url,
        "TWOSTEP_SERVER_LOG": str(server.log),
        "TWOSTEP_JOURNEY": json.dumps(server.journeys[name]),
    }


def test_python_journey(python_client, server):
    env = journey_env(server, "python")
    env["PYTHONPATH"] = str(PYTHON_OUTPUT)
    output = checked([sys.executable, HERE / "journey_py.py"], env=env)
    assert "python journey: passed" in output


def test_typescript_journey(ts_client, server):
    checked([NODE_BIN / "tsc", "-p", HERE / "tsconfig.json"], cwd=HERE)
    script = TS_OUTPUT / "dist" / "tests_clients" / "journey.js"
    output = checked(["node", script], env=journey_env(server, "typescript"))
    assert "typescript journey: passed" in output
