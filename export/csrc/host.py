"""Compile a generated model .c with the host C compiler and run it through ctypes."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .errors import CCompileError

STRICT_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
_NP = {"uint8_t": np.uint8, "int8_t": np.int8, "float": np.float32}

_RUNNER = """\
#include <stddef.h>
#include "{header}"
/* Host test entry: n inferences, one scratch buffer reused (4-byte aligned). */
int edgeport_host_run(size_t n, const {prefix}_input_t *in, {prefix}_output_t *out)
{{
    static double scratch[({P}_SCRATCH_BYTES + 7) / 8 + 1];
    size_t i;
    for (i = 0; i < n; i++) {{
        int rc = {prefix}_invoke(in + i * {P}_INPUT_SIZE, out + i * {P}_OUTPUT_SIZE, scratch);
        if (rc != 0) {{
            return rc;
        }}
    }}
    return 0;
}}
int edgeport_host_verify(void) {{ return {prefix}_verify(); }}
"""


def find_cc() -> str | None:
    """The host C compiler (cc, gcc or clang), or None."""
    return next((shutil.which(c) for c in ("cc", "gcc", "clang") if shutil.which(c)), None)


def read_api(header: str | Path) -> dict:
    """Prefix, sizes and element types, parsed from a generated header."""
    text = Path(header).read_text()
    m = re.search(r"typedef (\w+) (\w+)_input_t;", text)
    if not m:
        raise CCompileError(f"{header}: not an edgeport model header (no <prefix>_input_t typedef)")
    in_t, prefix = m.group(1), m.group(2)
    out_t = re.search(rf"typedef (\w+) {prefix}_output_t;", text).group(1)
    P = prefix.upper()
    size = {k: int(re.search(rf"#define {P}_{k} (\d+)", text).group(1)) for k in ("INPUT_SIZE", "OUTPUT_SIZE", "SCRATCH_BYTES")}
    quant = {}  # optional: hand-written headers with the same API may leave them out
    for k in ("INPUT_SCALE", "INPUT_ZERO_POINT", "OUTPUT_SCALE", "OUTPUT_ZERO_POINT"):
        m = re.search(rf"#define {P}_{k} (\S+?)f?\n", text)
        quant[k] = (int if k.endswith("ZERO_POINT") else float)(m.group(1)) if m else None
    return {"prefix": prefix, "input_t": in_t, "output_t": out_t, **size, **quant}


def compile_shared(c_path: str | Path, out_dir: str | Path, *, flags=STRICT_FLAGS, extra=()) -> Path:
    """Compile ``c_path`` plus a batch runner into a shared library in ``out_dir``."""
    cc = find_cc()
    if cc is None:
        raise CCompileError("no C compiler found (cc, gcc or clang); install one, e.g. apt-get install gcc")
    c_path, out_dir = Path(c_path).resolve(), Path(out_dir)
    header = c_path.with_suffix(".h")
    api = read_api(header)
    if re.search(r'["\\\n]', header.name):
        raise CCompileError(f"{header.name!r}: a header name with a quote, backslash or newline cannot be #included")
    runner = out_dir / "edgeport_host_runner.c"
    # by its base name, found through -I: the folder's path may hold any character (" or a newline)
    runner.write_text(_RUNNER.format(header=header.name, prefix=api["prefix"], P=api["prefix"].upper()))
    lib = out_dir / "libmodel.so"
    cmd = [cc, *flags, *extra, "-I", str(header.parent), "-fPIC", "-shared", "-o", str(lib), str(c_path),
           str(runner), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CCompileError(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    return lib


class HostCModel:
    """A generated model compiled for this machine: prepare once, ``predict_raw`` many times."""

    def __init__(self, c_path: str | Path, *, flags=STRICT_FLAGS, extra=()) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="edgeport_c_")
        self.api = read_api(Path(c_path).with_suffix(".h"))
        self.lib_path = compile_shared(c_path, self._tmp.name, flags=flags, extra=extra)
        self._lib = ctypes.CDLL(str(self.lib_path))
        self._lib.edgeport_host_run.restype = ctypes.c_int
        self._lib.edgeport_host_run.argtypes = [ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
        self._in = _NP[self.api["input_t"]]
        self._out = _NP[self.api["output_t"]]

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """Run ``invoke`` on each row of ``x`` (N x INPUT_SIZE elements); return N x OUTPUT_SIZE."""
        x = np.asarray(x)
        if x.dtype != self._in:
            raise TypeError(f"input dtype {x.dtype}; this model takes {np.dtype(self._in)}")
        x = np.ascontiguousarray(x.reshape(len(x), -1))
        if x.shape[1] != self.api["INPUT_SIZE"]:
            raise ValueError(f"input rows of {x.shape[1]} elements; expected {self.api['INPUT_SIZE']}")
        out = np.zeros((len(x), self.api["OUTPUT_SIZE"]), dtype=self._out)
        rc = self._lib.edgeport_host_run(len(x), x.ctypes.data, out.ctypes.data)
        if rc != 0:
            raise RuntimeError(f"invoke returned {rc}")
        return out

    def verify(self) -> int:
        """The generated ``<prefix>_verify()``: 0 when every table's CRC matches."""
        return int(self._lib.edgeport_host_verify())

    def close(self) -> None:
        self._tmp.cleanup()
