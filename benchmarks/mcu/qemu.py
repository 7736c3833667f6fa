"""Run a harness ELF on its QEMU board and collect outputs, instructions and stack."""
from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BenchmarkError, UsageError
from .boards import DEFAULT_CORE, board as board_of
from .toolchain import require_tools

logger = logging.getLogger(__name__)

QEMU_ARGS = ("-nographic", "-semihosting-config", "enable=on,target=native", "-icount", "shift=0")
DEFAULT_TIMEOUT_S = 600.0
_SUMMARY_RE = re.compile(r"^edgeport-mcu: (.*)$", re.M)
_HARNESS_EXIT = {1: "the program faulted or QEMU failed", 10: "a file could not be opened or written",
                 11: "invoke returned non-zero", 12: "the model wrote past its scratch buffer",
                 13: "the stack pointer is outside the painted region"}


class QemuRunError(BenchmarkError):
    """QEMU timed out, faulted, or the harness reported a failure."""


@dataclass(frozen=True)
class McuRun:
    """What one QEMU run measured. Instructions are the board's counter ticks (SysTick or
    minstret) times its instructions per tick under ``-icount shift=0``: instructions, not cycles."""

    outputs: np.ndarray            # (N, OUTPUT_SIZE), the model's output elements
    instructions: np.ndarray       # (N,) instructions per invoke, counter overhead removed
    peak_stack_bytes: int          # deepest stack use of any invoke, from painting
    scratch_bytes: int             # the model's SCRATCH_BYTES constant
    verify: int                    # what <prefix>_verify() returned on the target
    null_codes: tuple[int, int, int]  # invoke's return for a NULL input, output, scratch

    @property
    def instructions_per_inference(self) -> float:
        return float(np.median(self.instructions))


def _dtype(code: str) -> np.dtype:
    kind, size = code[0], int(code[1:])
    return np.dtype(f"<{kind}{size}")


def _parse_summary(stdout: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _SUMMARY_RE.finditer(stdout):
        for item in match.group(1).split():
            key, _, value = item.partition("=")
            fields[key] = value
    return fields


def run_qemu(elf: str | Path, inputs: np.ndarray, *, core: str = DEFAULT_CORE, timeout: float = DEFAULT_TIMEOUT_S,
             workdir: str | Path | None = None) -> McuRun:
    """Run ``elf`` (from ``cross_compile`` for the same ``core``) on ``inputs`` (N, INPUT_SIZE).

    ``inputs`` must have the model's input element type; the harness reports its types and a
    mismatch raises UsageError. QEMU is killed after ``timeout`` seconds.
    """
    b = board_of(core)
    require_tools(core)
    elf = Path(elf).resolve()
    inputs = np.ascontiguousarray(inputs)
    if inputs.ndim != 2 or len(inputs) == 0:
        raise UsageError(f"inputs: expected a non-empty (N, INPUT_SIZE) array, got shape {inputs.shape}")
    with tempfile.TemporaryDirectory(prefix="edgeport-qemu-", dir=workdir) as tmp:
        work = Path(tmp)
        inputs.astype(inputs.dtype.newbyteorder("<"), copy=False).tofile(work / "inputs.bin")
        cmd = [b.arch.qemu, "-M", b.machine, *b.qemu_args, *QEMU_ARGS, "-kernel", str(elf)]
        logger.debug("%s (in %s)", " ".join(cmd), work)
        try:
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, errors="replace",
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise QemuRunError(f"{elf.name} on {b.label}: QEMU did not finish within {timeout:g} s "
                               f"({len(inputs)} inferences)") from e
        fields = _parse_summary(proc.stdout + "\n" + proc.stderr)  # the semihosting console
        if proc.returncode != 0 or "verify" not in fields:
            reason = _HARNESS_EXIT.get(proc.returncode, "QEMU failed")
            raise QemuRunError(f"{elf.name} on {b.label}: exit {proc.returncode} ({reason}): "
                               f"{(proc.stdout + proc.stderr).strip()[-1000:]}")
        in_dtype, out_dtype = _dtype(fields["input"]), _dtype(fields["output"])
        expected = (in_dtype, int(fields["input_size"]))
        if expected != (inputs.dtype.newbyteorder("<"), inputs.shape[1]):
            raise UsageError(f"inputs: the model takes rows of {expected[1]} {in_dtype.name} elements, "
                             f"got rows of {inputs.shape[1]} {inputs.dtype.name}")
        n = int(fields["inferences"])
        if n != len(inputs):
            raise QemuRunError(f"{elf.name}: ran {n} inferences, expected {len(inputs)}")
        outputs = np.fromfile(work / "outputs.bin", dtype=out_dtype).reshape(n, -1)
        ticks = np.fromfile(work / "ticks.bin", dtype="<u8").astype(np.int64)
        per_tick = b.instructions_per_tick
        instructions = (ticks * per_tick.numerator + per_tick.denominator // 2) // per_tick.denominator
    return McuRun(
        outputs=outputs,
        instructions=instructions,
        peak_stack_bytes=int(fields["peak_stack"]),
        scratch_bytes=int(fields["scratch_bytes"]),
        verify=int(fields["verify"]),
        null_codes=(int(fields["null_input"]), int(fields["null_output"]), int(fields["null_scratch"])),
    )
