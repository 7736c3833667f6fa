"""`--format c` from the user's side: odd output folders, signing, reproducible bytes (real
converter, real host compiler)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from export.__main__ import main as export_main
from export.csrc.host import find_cc
from tests import zoo


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(model.keras, data.npz) of the smallest real model: one Dense unit over 4 features."""
    if find_cc() is None:  # --format c compiles and runs what it generates
        if os.environ.get("CI"):
            pytest.fail("a C compiler (cc/gcc/clang) is required in CI")
        pytest.skip("no C compiler (cc/gcc/clang) on this machine")
    return zoo.summing_regressor(tmp_path_factory.mktemp("tiny"))


def _export_c(tiny, out: Path, *extra: str) -> int:
    model, data = tiny
    return export_main(["--model", str(model), "--data", str(data), "--format", "c", "--output", str(out),
                        "-q", *extra])


def test_output_folder_with_quote_and_newline(tiny, tmp_path):
    out = tmp_path / 'say "hi"\nthere'
    assert _export_c(tiny, out) == 0
    assert (out / "model.c").is_file() and (out / "model.h").is_file()
    assert '#include "model.h"' in (out / "model.c").read_text()
