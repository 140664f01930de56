"""Outside programs used by some tests (oathtool, ...)."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_TOOLS_ENV = "DRF_TWOSTEP_REQUIRE_TOOLS"


def require_tool(name: str) -> str:
    """
    The path of the program ``name``. When it is not installed the test is skipped, unless
    ``DRF_TWOSTEP_REQUIRE_TOOLS=1`` is set (as in CI), where a missing tool fails the test.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"the {name!r} program is not installed"
    if os.environ.get(REQUIRE_TOOLS_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_TOOLS_ENV}=1 requires it", pytrace=False)
    pytest.skip(f"{reason} (set {REQUIRE_TOOLS_ENV}=1 to make this a failure)")
