"""
Both generators write their client from the example project's schema without a warning, and
both clients type-check strictly: mypy --strict on the Python client (with the journey that uses
it), tsc --noEmit --strict on the TypeScript client and its journey.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from conftest import HERE, NODE_BIN, PYTHON_OUTPUT, checked, run


def test_python_client_generates_without_a_warning(python_client):
    assert python_client.warnings == [], python_client.output


def test_typescript_client_generates_without_a_warning(ts_client):
    assert ts_client.warnings == [], ts_client.output


def test_every_python_client_module_imports(python_client, monkeypatch):
    monkeypatch.syspath_prepend(str(PYTHON_OUTPUT))
    import twostep_client.api
    import twostep_client.models

    names = [
        module.name
        for package in (twostep_client.api, twostep_client.models)
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    ]
    for name in names:
        importlib.import_module(name)
    # Tags that make good module names: one API package per tag, none named after a digit.
    tags = {name.split(".")[2] for name in names if name.startswith("twostep_client.api.")}
    assert tags == {"demo", "organizations", "two_step_verification"}
    for name in list(sys.modules):
        if name.startswith("twostep_client"):
            del sys.modules[name]


def test_python_client_and_journey_pass_mypy_strict(python_client):
    result = run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", HERE / "mypy.ini"]
        + [PYTHON_OUTPUT / "twostep_client", HERE / "journey_py.py"],
        cwd=PYTHON_OUTPUT,
        env={**os.environ, "MYPYPATH": str(PYTHON_OUTPUT)},
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def test_typescript_client_and_journey_pass_tsc_strict(ts_client):
    checked([NODE_BIN / "tsc", "--noEmit", "--strict", "-p", HERE / "tsconfig.json"], cwd=HERE)
