"""``python -m benchmarks.mcu.kernelbench``: the fast kernels on the MLPerf Tiny layer shapes.

Every distinct conv, depthwise, ADD and pooling shape of KWS, VWW and IC runs once on QEMU's
Cortex-M4 (``mps2-an386``, instructions, not cycles) with random weights and quantization; its
output is checked against TFLite Micro and its instructions per MAC (per output for ADD and
pooling) printed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from .kernels import Case, add_case, avgpool_case, conv_case, outputs_match, suite_inputs, write_suite


def mlperf_layers(rng: np.random.Generator) -> list[Case]:
    """The distinct layer shapes of KWS (DS-CNN), VWW (MobileNetV1 0.25) and IC (ResNet-8)."""
    c, r = conv_case, "RELU"

    def dw(name, shape, stride=1):
        return conv_case(rng, name, shape, shape[2], (3, 3), (stride, stride), activation=r, depthwise=True)

    return [
        c(rng, "KWS conv 10x4 s2 49x10x1->64", (49, 10, 1), 64, (10, 4), (2, 2), activation=r),
        dw("KWS dw 25x5x64", (25, 5, 64)),
        c(rng, "KWS pw 25x5x64->64", (25, 5, 64), 64, activation=r),
        avgpool_case(rng, "KWS avgpool 25x5x64", (25, 5, 64), (25, 5), (1, 1)),
        c(rng, "VWW conv 3x3 s2 96x96x3->8", (96, 96, 3), 8, (3, 3), (2, 2), activation=r),
        dw("VWW dw 48x48x8", (48, 48, 8)),
        c(rng, "VWW pw 48x48x8->16", (48, 48, 8), 16, activation=r),
        dw("VWW dw s2 48x48x16", (48, 48, 16), 2),
        c(rng, "VWW pw 24x24x16->32", (24, 24, 16), 32, activation=r),
        dw("VWW dw 24x24x32", (24, 24, 32)),
        c(rng, "VWW pw 24x24x32->32", (24, 24, 32), 32, activation=r),
        c(rng, "VWW pw 12x12x64->64", (12, 12, 64), 64, activation=r),
        c(rng, "VWW pw 6x6x128->128", (6, 6, 128), 128, activation=r),
        dw("VWW dw 6x6x128", (6, 6, 128)),
        c(rng, "VWW pw 3x3x256->256", (3, 3, 256), 256, activation=r),
        c(rng, "IC conv 3x3 32x32x3->16", (32, 32, 3), 16, (3, 3), activation=r),
        c(rng, "IC conv 3x3 32x32x16->16", (32, 32, 16), 16, (3, 3), activation=r),
        c(rng, "IC conv 3x3 s2 32x32x16->32", (32, 32, 16), 32, (3, 3), (2, 2), activation=r),
        c(rng, "IC conv 3x3 16x16x32->32", (16, 16, 32), 32, (3, 3), activation=r),
        c(rng, "IC conv 1x1 s2 32x32x16->32", (32, 32, 16), 32, (1, 1), (2, 2)),
        c(rng, "IC conv 3x3 8x8x64->64", (8, 8, 64), 64, (3, 3), activation=r),
        add_case(rng, "IC add 32x32x16", (32, 32, 16), r),
        avgpool_case(rng, "IC avgpool 8x8x64", (8, 8, 64), (8, 8), (1, 1)),
    ]


def run(cases: list[Case], work: Path, flags: tuple[str, ...] = ("-O2",)) -> list[dict]:
    from . import cross_compile, run_qemu

    c_path = write_suite(cases, work)
    build = cross_compile(c_path, work / "arm", opt_flags=flags)
    result = run_qemu(build.elf, suite_inputs(cases))
    bad = outputs_match(cases, result.outputs)
    rows = []
    for case, n in zip(cases, result.instructions):
        per = n / case.macs if case.macs else n / case.out_size
        rows.append({"case": case.name, "macs": case.macs, "instructions": int(n), "per": per,
                     "unit": "MAC" if case.macs else "output", "work_bytes": case.call.work_bytes,
                     "exact": not any(b.startswith(case.name + " (") for b in bad)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mcu.kernelbench", description=__doc__.split("\n")[0])
    parser.add_argument("--portable", action="store_true", help="build with -DEDGEPORT_PORTABLE (no DSP path)")
    parser.add_argument("--filter", default="", help="only cases whose name contains this text")
    args = parser.parse_args(argv)
    cases = [c for c in mlperf_layers(np.random.default_rng(0)) if args.filter in c.name]
    if not cases:
        print(f"error: no case name contains {args.filter!r}", file=sys.stderr)
        return 2
    flags = ("-O2", "-DEDGEPORT_PORTABLE") if args.portable else ("-O2",)
    with tempfile.TemporaryDirectory(prefix="edgeport-kbench-") as tmp:
        rows = run(cases, Path(tmp), flags)
    print(f"| case | MACs | instructions | per MAC (or output) | scratch | equal to TFLM |\n|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['case']} | {r['macs']:,} | {r['instructions']:,} | {r['per']:.2f} / {r['unit']} | "
              f"{r['work_bytes']} | {'yes' if r['exact'] else 'NO'} |")
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
