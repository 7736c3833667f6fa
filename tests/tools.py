"""Test helpers shared by the C and microcontroller tests: a tool that may be missing skips, except in
CI where it fails; the host build of a generated C model; the hand-written fixtures."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

MCU_FIXTURES = Path(__file__).parent / "fixtures" / "mcu"


def require(tool: str | None, what: str) -> str:
    """``tool`` (a path) if found; else skip with the reason, or fail when the env var CI is set."""
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} not found on this machine")
    return tool


def require_board(core: str = "m4") -> None:
    """Skip unless the cross compiler, C library and QEMU of ``core``'s board are installed (fail in CI)."""
    from benchmarks.mcu import BOARDS, missing_tools

    missing = missing_tools(core)
    if missing:
        reason = f"{core}: missing {', '.join(missing)} (apt-get install {BOARDS[core].arch.packages})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def host_outputs(model_c: Path, inputs: np.ndarray) -> np.ndarray:
    """The same C built for the host (cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic), via ctypes."""
    from export.csrc.host import HostCModel

    model = HostCModel(model_c)
    try:
        return model.predict_raw(inputs)
    finally:
        model.close()


def copy_tiny_dense(folder: Path, edit: Callable[[str, str], str] | None = None) -> Path:
    """The hand-written ``tiny_dense.c``/``.h`` fixture copied into ``folder``, each file's text
    passed through ``edit(name, text)`` if given; returns the .c path."""
    for name in ("tiny_dense.c", "tiny_dense.h"):
        shutil.copy(MCU_FIXTURES / name, folder / name)
        if edit is not None:
            (folder / name).write_text(edit(name, (folder / name).read_text()))
    return folder / "tiny_dense.c"


LOOP_MODEL = """
#include "loop.h"
int loop_verify(void) { return 0; }
int loop_invoke(const loop_input_t *input, loop_output_t *output, void *scratch)
{
    unsigned n = LOOP_ITERATIONS;
    (void)scratch;
    if (input == 0 || output == 0) {
        return -1;
    }
#if defined(__riscv)
    __asm__ volatile("1: addi %0, %0, -1\\n bnez %0, 1b" : "+r"(n));
#else
    __asm__ volatile(".syntax unified\\n1: subs %0, %0, #1\\n bne 1b" : "+l"(n) : : "cc");
#endif
    output[0] = input[0];
    return 0;
}
"""
LOOP_HEADER = """
#define LOOP_INPUT_SIZE 1
#define LOOP_OUTPUT_SIZE 1
#define LOOP_SCRATCH_BYTES 0
#define LOOP_ITERATIONS {iterations}u
typedef unsigned char loop_input_t;
typedef unsigned char loop_output_t;
int loop_invoke(const loop_input_t *input, loop_output_t *output, void *scratch);
int loop_verify(void);
"""


def write_loop_model(folder: Path, iterations: int) -> Path:
    """A model whose invoke is a 2-instruction loop run ``iterations`` times, then copies its one input
    byte to its output (ARM and RISC-V): the instruction counters' known answer. Returns loop.c."""
    (folder / "loop.c").write_text(LOOP_MODEL)
    (folder / "loop.h").write_text(LOOP_HEADER.format(iterations=iterations))
    return folder / "loop.c"
