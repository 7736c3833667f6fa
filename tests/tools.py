"""Test helpers shared by the C tests: a tool that may be missing skips, except in CI where it fails."""
from __future__ import annotations

import os

import pytest


def require(tool: str | None, what: str) -> str:
    """``tool`` (a path) if found; else skip with the reason, or fail when the env var CI is set."""
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} not found on this machine")
    return tool
