"""The suite's shared-build helper (tests/conftest.py): one build for every xdist worker."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import build_once


def test_concurrent_callers_share_one_build(tmp_path: Path) -> None:
    calls = []

    def build(out: Path) -> None:
        calls.append(out)
        time.sleep(0.3)  # the others arrive while this one builds
        (out / "model.bin").write_text("built")

    with ThreadPoolExecutor(3) as pool:
        folders = list(pool.map(lambda _: build_once(tmp_path, "demo", build, key=(1,)), range(3)))
    assert len(calls) == 1 and len(set(folders)) == 1
    assert (folders[0] / "model.bin").read_text() == "built"
    assert build_once(tmp_path, "demo", build, key=(1,)) == folders[0] and len(calls) == 1
    other = build_once(tmp_path, "demo", build, key=(2,))  # another key: another build
    assert other != folders[0] and len(calls) == 2


def test_a_failed_build_is_never_reused(tmp_path: Path) -> None:
    def broken(out: Path) -> None:
        (out / "half").write_text("x")
        raise RuntimeError("killed half way")

    with pytest.raises(RuntimeError, match="half way"):
        build_once(tmp_path, "demo", broken)
    folder = build_once(tmp_path, "demo", lambda out: (out / "whole").write_text("y"))
    assert (folder / "whole").is_file() and not (folder / "half").exists()
