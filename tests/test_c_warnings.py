"""Generated C compiles warning-free (issue 19 item 4).

gcc and clang, for the host and for arm-none-eabi (gcc on every supported Cortex-M core), at -O0,
-Os, -O2 and -O3, with ``-std=c99 -Wall -Wextra -Werror -pedantic``. Compile only (-c). The inputs are
a few whole models from the per-op fixtures (tests/fixtures/ops), generated once: the fp32
Dense(8) that once failed at -O2 on ARM, an int8 MLP with uint8 I/O (the reference MLP's ops), a
CNN holding every conv and pooling kernel (int8 with uint8 I/O, and fp32), and a branching graph of
the newer ops (PAD, ADD, MUL, SUB, MEAN, CONCATENATION, LEAKY_RELU, HARD_SWISH, TANH, int8 and fp32). Many warnings only appear once a kernel is inlined with a
model's constant sizes, so the kernels are compiled inside real models, not alone.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.opmodels import FIXTURES
from tests.tools import require

WARNING_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")
OPT_LEVELS = ("-O0", "-Os", "-O2", "-O3")
CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
FPU_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")  # built with the hard-float ABI
MODELS = ("fully_connected_16x8_fp32", "model_mlp_pc_uint8", "model_cnn_pc_uint8", "model_cnn_fp32",
          "model_graph_int8", "model_graph_fp32")
# clang warns from its front end: beyond the host, only the two ARM sources the preprocessor can make
# differ (the portable path and the __ARM_FEATURE_DSP one). gcc's optimizer warns per core and level.
CLANG_CORES = ("cortex-m0plus", "cortex-m4")
TARGETS = (("gcc", "host"), ("clang", "host"),
           *(("arm-none-eabi-gcc", core) for core in CORES), *(("clang", core) for core in CLANG_CORES))


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    """The C of every model in MODELS (``<case>.c`` beside its header)."""
    from export.csrc import export_c

    out = tmp_path_factory.mktemp("c_warnings")
    paths, failures = [], []
    for name in MODELS:
        try:
            paths.append(export_c(FIXTURES / f"{name}.tflite", out, base_name=name)[0])
        except Exception as e:  # every model must generate; report them all
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "cannot generate C:\n" + "\n".join(failures)
    return paths


def _newlib_sysroot() -> Path | None:
    """The arm-none-eabi newlib headers (clang has no C library of its own for bare metal)."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        return None
    libc = subprocess.run([gcc, "-print-file-name=libc.a"], capture_output=True, text=True).stdout.strip()
    root = Path(libc).resolve().parent.parent
    return root if (root / "include" / "math.h").is_file() else None


def _command(compiler: str, target: str) -> list[str]:
    """The compiler and target flags, or a skip (fail in CI) when a tool is missing."""
    if target == "host":
        return [require(shutil.which(compiler), f"host {compiler}")]
    arch = [f"-mcpu={target}", "-mthumb", f"-mfloat-abi={'hard' if target in FPU_CORES else 'soft'}"]
    if compiler == "clang":
        clang = require(shutil.which("clang"), "clang")
        sysroot = require(_newlib_sysroot(), "the arm-none-eabi newlib headers (libnewlib-arm-none-eabi)")
        return [clang, "--target=arm-none-eabi", f"--sysroot={sysroot}", *arch]
    return [require(shutil.which(compiler), compiler), *arch]


MATRIX = [(c, t, o) for c, t in TARGETS for o in OPT_LEVELS]


@pytest.mark.parametrize("compiler,target,opt", MATRIX, ids=[f"{c}-{t}{o}" for c, t, o in MATRIX])
def test_generated_c_compiles_without_warnings(compiler, target, opt, sources, tmp_path):
    base = _command(compiler, target)

    def build(source: Path) -> str | None:
        obj = tmp_path / f"{source.stem}.o"
        cmd = [*base, opt, *WARNING_FLAGS, "-c", str(source), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or proc.stderr or not obj.is_file():
            return f"$ {' '.join(cmd)}\n{proc.stderr[-3000:]}"
        return None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # one compiler process per model
        failures = [f for f in pool.map(build, sources) if f]
    assert not failures, "\n\n".join(failures)
