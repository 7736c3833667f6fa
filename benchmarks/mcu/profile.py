"""Instructions per op of the generated C on QEMU's Cortex-M4 (``python -m benchmarks --mcu --profile``,
or ``python -m benchmarks.mcu.profile MODEL.tflite ...``).

The model is generated with a call after every op (``export.csrc.generate_c(..., profile=True)``;
shipped C has none) and wrapped in a small measuring "model" with the harness API: it runs the
model and outputs, per op, the SysTick ticks it took (``-icount shift=0``: 1 tick = 40
instructions; instructions, not cycles). The cost of an empty step is measured in the same run
and removed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import BenchmarkError, UsageError

PREFIX = "epprof"
MODEL_PREFIX = "edgeport_model"
INSTRUCTIONS_PER_TICK = 40
DEFAULT_INFERENCES = 3

_WRAPPER = """\
/* Profiling wrapper (benchmarks.mcu.profile): runs {model} and outputs the instructions of each op */
#include <stdint.h>

#include "{header}"
#include "{model_c}"

#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define STEPS {steps}

static uint32_t last_tick, ticks[STEPS + 1]; /* [STEPS]: an empty step, the hook's own cost */

/* SysTick counts down from 2^24 - 1; a step is far shorter than one wrap */
void edgeport_profile_step(int step)
{{
    const uint32_t now = SYST_CVR;
    if (step >= 0) {{
        ticks[step] = (last_tick - now) & 0xFFFFFFu;
    }}
    last_tick = SYST_CVR;
}}

int {p}_verify(void)
{{
    return {mp}_verify();
}}

int {p}_invoke(const {p}_input_t *input, {p}_output_t *output, void *scratch)
{{
    int k, rc;
    if (input == NULL || output == NULL || scratch == NULL) {{
        return -1;
    }}
    edgeport_profile_step(-1);
    edgeport_profile_step(STEPS);
    rc = {mp}_invoke(input, ({mp}_output_t *)((unsigned char *)scratch + {out_offset}), scratch);
    for (k = 0; k <= STEPS; k++) {{
        output[k] = ticks[k] * {per_tick}u;
    }}
    return rc;
}}
"""

_HEADER = """\
#ifndef EPPROF_H
#define EPPROF_H
#include <stdint.h>
#include "{model_h}"
#define {P}_INPUT_SIZE {input_size}
#define {P}_OUTPUT_SIZE {outputs}
#define {P}_SCRATCH_BYTES {scratch}
typedef {mp}_input_t {p}_input_t;
typedef uint32_t {p}_output_t;
int {p}_invoke(const {p}_input_t *input, {p}_output_t *output, void *scratch);
int {p}_verify(void);
#endif
"""


def _inputs(api: dict, count: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    kind = api["input_t"]
    if kind == "float":
        return rng.random((count, api["INPUT_SIZE"]), dtype=np.float32)
    lo, hi, dtype = (-128, 128, np.int8) if kind == "int8_t" else (0, 256, np.uint8)
    return rng.integers(lo, hi, size=(count, api["INPUT_SIZE"])).astype(dtype)


def profile_model(tflite: str | os.PathLike[str], work: Path, inferences: int = DEFAULT_INFERENCES) -> dict[str, Any]:
    """Per-op instructions of ``tflite``'s generated C on the Cortex-M4 (median over ``inferences``
    seeded random inputs): {"model", "instructions", "macs", "ops": [{function, op, macs,
    instructions, instructions_per_mac}]}."""
    from export.csrc import generate_c, op_steps
    from export.csrc.host import read_api

    from .toolchain import cross_compile
    from .qemu import run_qemu

    tflite = Path(tflite)
    steps = op_steps(tflite)
    c_text, h_text = generate_c(tflite, prefix=MODEL_PREFIX, base_name="model", profile=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "model.c").write_text(c_text)
    (work / "model.h").write_text(h_text)
    api = read_api(work / "model.h")
    out_bytes = api["OUTPUT_SIZE"] * (4 if api["output_t"] == "float" else 1)
    offset = (api["SCRATCH_BYTES"] + 3) // 4 * 4
    fmt = dict(p=PREFIX, P=PREFIX.upper(), mp=MODEL_PREFIX, steps=len(steps), per_tick=INSTRUCTIONS_PER_TICK)
    (work / f"{PREFIX}.h").write_text(_HEADER.format(model_h="model.h", input_size=api["INPUT_SIZE"],
                                                     outputs=len(steps) + 1, scratch=offset + out_bytes, **fmt))
    wrapper = work / f"{PREFIX}.c"
    wrapper.write_text(_WRAPPER.format(model=tflite.name, header=f"{PREFIX}.h", model_c="model.c",
                                       out_offset=offset, **fmt))
    build = cross_compile(wrapper, work / "arm")
    run = run_qemu(build.elf, _inputs(api, inferences))
    counts = np.median(run.outputs.astype(np.int64), axis=0)
    empty = int(counts[-1])
    ops = []
    for step, n in zip(steps, counts[:-1]):
        n = max(int(n) - empty, 0)
        ops.append({**step, "instructions": n,
                    "instructions_per_mac": round(n / step["macs"], 3) if step["macs"] else None})
    macs = sum(s["macs"] for s in steps)
    total = int(run.instructions_per_inference)
    return {"model": tflite.name, "instructions": total, "macs": macs, "ops": ops}


def profile_table(items: Iterable[str | os.PathLike[str]], inferences: int = DEFAULT_INFERENCES) -> list[dict]:
    """``profile_model`` for every .tflite among ``items`` (files, or folders: their int8 models)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.glob("*.tflite") if ".int8." in p.name)
        elif path.suffix == ".tflite" and path.is_file():
            paths.append(path)
        else:
            raise UsageError(f"{path}: expected a .tflite file or a folder holding int8 .tflite files")
    if not paths:
        raise UsageError("no int8 .tflite model to profile")
    with tempfile.TemporaryDirectory(prefix="edgeport-profile-") as tmp:
        return [profile_model(p, Path(tmp) / f"m{i}", inferences) for i, p in enumerate(paths)]


def profile_markdown(profiles: list[dict]) -> str:
    """One table per model: every op with its MACs, instructions and share of the inference."""
    lines: list[str] = []
    for prof in profiles:
        total, macs = prof["instructions"], prof["macs"]
        per = f", {total / macs:.2f} per MAC" if macs else ""
        lines += [f"### {prof['model']}: {total:,} instructions per inference{per}", "",
                  "| # | op | function | MACs | instructions | instructions / MAC | share |", "|---:|---|---|---:|---:|---:|---:|"]
        for k, op in enumerate(prof["ops"]):
            ipm = "—" if op["instructions_per_mac"] is None else f"{op['instructions_per_mac']:.2f}"
            share = 100.0 * op["instructions"] / total if total else 0.0
            lines.append(f"| {k} | {op['op']} | `{op['function']}` | {op['macs']:,} | {op['instructions']:,} | {ipm} | "
                         f"{share:.1f}% |")
        lines.append("")
    lines.append("QEMU `mps2-an386` (Cortex-M4F), `-icount shift=0`, SysTick read after every op of a profiling "
                 "build (the shipped C has no hooks): instructions, not cycles, to about 40 per op; the hook's "
                 "own cost is removed. The total is the whole invoke.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mcu.profile", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help=".tflite files, or folders of int8 .tflite files")
    parser.add_argument("--inferences", type=int, default=DEFAULT_INFERENCES, help="inputs to run (median)")
    args = parser.parse_args(argv)
    if args.inferences < 1:
        print(f"error: --inferences {args.inferences}; expected at least 1", file=sys.stderr)
        return 2
    try:
        print(profile_markdown(profile_table(args.models, args.inferences)))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BenchmarkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
