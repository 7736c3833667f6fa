"""``--format tflm``: the .tflite as an aligned C array, with the arena size TFLite Micro needs.

The arena is measured, not guessed: the tflite-micro Python interpreter (TFLM's reference kernels)
allocates and runs the model in a child process (a corrupt model can crash TFLM, never us). Two
figures land in the header: the allocation report's total after AllocateTensors, and the smallest
arena (in 16-byte steps) the interpreter accepted, which also covers the kernels' temporary
allocations during Prepare and is the one to size ``tensor_arena`` with.
"""
from __future__ import annotations

import keyword
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ConversionError, ExportError

logger = logging.getLogger(__name__)

INSTALL_HINT = "the tflm format needs tflite-micro (x86-64 Linux wheels): pip install tflite-micro"
ALIGN = 16
GENEROUS_ARENA = 1 << 26
PROBE_TIMEOUT_S = 120
BYTES_PER_LINE = 16
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef union
unsigned void volatile while alignas alignof bool class namespace new delete template this""".split())

# Runs in a child process: exit 0 + the allocation report on stderr, 3 if the arena is too small.
_PROBE = r"""
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
try:
    it = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
    for i in range(64):
        try:
            d = it.get_input_details(i)
        except Exception:
            break
        it.set_input(np.zeros(d["shape"], d["dtype"]), i)
    it.invoke()
except RuntimeError as e:
    print(f"probe: {e}", file=sys.stderr)
    sys.exit(3)
sys.stderr.flush()
it.print_allocations()
"""
_TOTAL_RE = re.compile(r"Arena allocation total (\d+) bytes")


@dataclass(frozen=True)
class TflmArena:
    """What the tflite-micro interpreter needed for one model."""

    used_bytes: int      # allocation report total after AllocateTensors
    required_bytes: int  # smallest arena (multiple of 16) that allocated and ran


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a C/C++ identifier, else raise ExportError naming it."""
    if not isinstance(prefix, str) or not _IDENTIFIER.match(prefix) or prefix in _C_KEYWORDS \
            or keyword.iskeyword(prefix):
        raise ExportError(f"prefix: expected a C identifier (letters, digits, _; not starting with a "
                          f"digit; not a keyword), got {prefix!r}")
    return prefix


def _probe(tflite_path: Path, arena_size: int, *, crash_means_too_small: bool = False) -> int | None:
    """Allocation-report total if TFLM allocates and runs the model in ``arena_size`` bytes, else None.

    Near the limit, TFLM's Python wrapper can crash (SIGSEGV) instead of reporting a failed
    allocation; once the model is known to run, such a crash counts as "too small".
    """
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(tflite_path), str(arena_size)],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise ConversionError(f"{tflite_path}: TFLite Micro did not finish within {PROBE_TIMEOUT_S} s") from e
    if proc.returncode == 3 or (crash_means_too_small and proc.returncode < 0):
        return None
    if proc.returncode != 0:
        if "No module named 'tflite_micro'" in proc.stderr:
            raise ConversionError(INSTALL_HINT)
        tail = " ".join(proc.stderr.split())[-500:]
        raise ConversionError(f"{tflite_path}: TFLite Micro cannot run this model (exit {proc.returncode}): {tail}")
    match = _TOTAL_RE.search(proc.stderr)
    if match is None:
        raise ConversionError(f"{tflite_path}: no allocation report from TFLite Micro: {proc.stderr[-300:]}")
    return int(match.group(1))


def measure_arena(tflite_path: str | Path) -> TflmArena:
    """Measure the TFLite Micro arena of a .tflite with the tflite-micro interpreter."""
    path = Path(tflite_path)
    used = _probe(path, GENEROUS_ARENA)
    if used is None:
        raise ConversionError(f"{path}: TFLite Micro cannot allocate this model even in {GENEROUS_ARENA} bytes")
    lo, hi = _align(used) // ALIGN, _align(used * 2 + 4096) // ALIGN  # in units of ALIGN bytes
    if _probe(path, hi * ALIGN, crash_means_too_small=True) is None:
        hi = GENEROUS_ARENA // ALIGN
    while lo < hi:  # invariant: hi works
        mid = (lo + hi) // 2
        if _probe(path, mid * ALIGN, crash_means_too_small=True) is None:
            lo = mid + 1
        else:
            hi = mid
    return TflmArena(used_bytes=used, required_bytes=hi * ALIGN)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _read_tflite(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExportError(f"{path}: cannot read the .tflite ({e.strerror})") from e
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ExportError(f"{path}: not a TFLite flatbuffer (expected 'TFL3' at bytes 4-8, got {data[4:8]!r})")
    return data


def _header(prefix: str, guard: str, size: int, arena: TflmArena, source: str) -> str:
    up = prefix.upper()
    return f"""/* {source} as a C array for TensorFlow Lite Micro. Generated by edgeport; do not edit.
 *
 * Arena: measured with the tflite-micro Python interpreter (reference kernels). Optimized kernels
 * (e.g. CMSIS-NN) may ask for different scratch buffers: check arena_used_bytes() on the target.
 */
#ifndef {guard}
#define {guard}

/* Bytes of the flatbuffer below. */
#define {up}_TFLM_MODEL_BYTES {size}u
/* Smallest tensor arena (alignas(16)) that allocated and ran the model. */
#define {up}_TFLM_ARENA_BYTES {arena.required_bytes}u
/* The interpreter's allocation report after AllocateTensors (head + tail). */
#define {up}_TFLM_ARENA_USED_BYTES {arena.used_bytes}u

extern const unsigned char {prefix}_tflite[{up}_TFLM_MODEL_BYTES];

#endif /* {guard} */
"""


def _source(prefix: str, header_name: str, data: bytes) -> str:
    lines = [", ".join(f"0x{b:02x}" for b in data[i:i + BYTES_PER_LINE])
             for i in range(0, len(data), BYTES_PER_LINE)]
    body = ",\n    ".join(lines)
    return (f"/* Generated by edgeport; do not edit. */\n#include \"{header_name}\"\n\n"
            f"alignas(16) const unsigned char {prefix}_tflite[{prefix.upper()}_TFLM_MODEL_BYTES] = {{\n"
            f"    {body}\n}};\n")


def _write_all(files: dict[Path, str]) -> None:
    """Write every file under a temporary name, then rename them all into place."""
    tmps = {path: path.with_name(f".tmp-{os.getpid()}-{path.name}") for path in files}
    try:
        for path, text in files.items():
            tmps[path].write_text(text, encoding="ascii")
        for path, tmp in tmps.items():
            os.replace(tmp, path)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)


def export_tflm(
    tflite_path: str | Path,
    out_dir: str | Path,
    *,
    prefix: str = "edgeport_model",
    base_name: str = "model.int8.tflm",
    source_name: str | None = None,
) -> tuple[Path, Path]:
    """Write ``<base_name>.cc`` and ``.h``: the .tflite as an ``alignas(16)`` array, plus the
    TFLite Micro arena size measured with the tflite-micro interpreter. Returns (cc, h).

    ``source_name`` is the name the header gives the .tflite (default: its file name): the
    installed artifact's name when ``tflite_path`` is a temporary file (reproducible bytes)."""
    check_prefix(prefix)
    path = Path(tflite_path)
    source = source_name or path.name
    data = _read_tflite(path)
    arena = measure_arena(path)
    logger.info("%s: TFLite Micro arena %d bytes (allocation report %d)", source,
                arena.required_bytes, arena.used_bytes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h, cc = out / f"{base_name}.h", out / f"{base_name}.cc"
    guard = re.sub(r"[^A-Za-z0-9]", "_", f"{prefix}_{base_name}_H").upper()
    _write_all({cc: _source(prefix, h.name, data), h: _header(prefix, guard, len(data), arena, source)})
    return cc, h
