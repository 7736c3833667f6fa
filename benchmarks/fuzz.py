"""Mutation fuzzing of exported artifacts: every damaged copy must be refused at load.

``python -m benchmarks.fuzz ARTIFACT_DIR [--mutants 200] [--seed 0]`` prints the table
for the README. Mutants (seeded): 1-8 random byte flips, truncations, appended bytes,
and edits inside the metadata JSON. One worker process (``benchmarks._fuzz_worker``)
loads them all through ``runtime.load`` and is restarted only after a crash or hang.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

ARTIFACTS = ("model.onnx", "model.int8.onnx", "model.tflite", "model.int8.tflite")
# 40% byte flips, 20% truncations, 20% appended bytes, 20% metadata JSON edits.
OPERATIONS = ("flip", "flip", "truncate", "append", "json")
_PRINTABLE = np.frombuffer(b"".join(bytes([c]) for c in range(32, 127)), dtype=np.uint8)


@dataclass
class FuzzResult:
    """Outcome counts for one artifact kind, with a few examples of anything not refused."""

    artifact: str
    mutants: int = 0
    outcomes: Counter = field(default_factory=Counter)
    operations: Counter = field(default_factory=Counter)
    integrity_refusals: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcomes["refused"] == self.mutants


def metadata_span(path: Path, data: bytes) -> tuple[int, int]:
    """Byte range of the edgeport metadata JSON inside the file (stored verbatim)."""
    from runtime.metadata import METADATA_KEY

    if path.suffix == ".onnx":
        from runtime.engines import OnnxBackend

        text = OnnxBackend(str(path), data=data).metadata_json.encode()
    else:
        from runtime.engines import read_tflite_metadata

        text = read_tflite_metadata(data, str(path))[METADATA_KEY]
    start = data.find(text)
    if start < 0 or data.find(text, start + 1) >= 0:
        raise RuntimeError(f"{path}: metadata JSON not found exactly once in the file bytes")
    return start, start + len(text)


def mutate(data: bytes, span: tuple[int, int], op: str, rng: np.random.Generator) -> bytes:
    """One mutant of ``data``, always different from it."""
    n = len(data)
    if op == "flip":
        out = bytearray(data)
        for pos in rng.choice(n, size=int(rng.integers(1, 9)), replace=False):
            out[pos] ^= int(rng.integers(1, 256))
        return bytes(out)
    if op == "truncate":  # anywhere, or a few bytes short (an interrupted copy)
        cut = int(rng.integers(0, n)) if rng.random() < 0.5 else n - int(rng.integers(1, 65))
        return data[:cut]
    if op == "append":
        extra = int(rng.integers(1, 4097))
        tail = rng.integers(0, 256, extra, dtype=np.uint8).tobytes() if rng.random() < 0.5 else bytes(extra)
        return data + tail
    if op == "json":
        return _edit_json(data, span, rng)
    raise ValueError(f"unknown mutation {op!r}: expected one of {sorted(set(OPERATIONS))}")


def _edit_json(data: bytes, span: tuple[int, int], rng: np.random.Generator) -> bytes:
    start, end = span
    pos = int(rng.integers(start, end))
    kind = rng.choice(["replace", "replace", "swap", "delete", "insert"])
    if kind == "swap":
        for _ in range(100):  # find two different neighbours to swap
            if pos + 1 < end and data[pos] != data[pos + 1]:
                return data[:pos] + data[pos + 1 : pos + 2] + data[pos : pos + 1] + data[pos + 2 :]
            pos = int(rng.integers(start, end - 1))
        kind = "replace"
    if kind == "delete":
        return data[:pos] + data[pos + 1 :]
    char = bytes([int(rng.choice(_PRINTABLE[_PRINTABLE != data[pos]]))])
    if kind == "insert":
        return data[:pos] + char + data[pos:]
    return data[:pos] + char + data[pos + 1 :]


def _reseal(data: bytes) -> bytes:
    """``data`` with its digest recomputed, if it still holds one well-formed seal."""
    from runtime.errors import ModelFileError
    from runtime.integrity import file_digest, find_seal

    try:
        seal = find_seal(data, "mutant")
    except ModelFileError:
        return data
    if seal is None:
        return data
    begin, end = seal.digest_span
    return data[:begin] + file_digest(data, seal) + data[end:]


class _Worker:
    """The loading subprocess; restarted after a crash or a hang."""

    def __init__(self, log_path: Path, timeout: float) -> None:
        self.log_path, self.timeout, self.proc = log_path, timeout, None
        self.restarts = 0

    def _start(self) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._fuzz_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True, bufsize=1,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def load(self, path: Path) -> dict:
        if self.proc is None:
            self._start()
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline() if self.selector.select(self.timeout) else None
        except BrokenPipeError:
            line = ""
        if line:
            return json.loads(line)
        self.stop()
        self.restarts += 1
        what = "hung" if line is None else f"died (exit {self.proc.returncode})"
        self.proc = None
        return {"result": "crash", "type": "", "message": f"worker {what}"}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.selector.close()
            self.log.close()


def fuzz(
    artifact_dir: str | os.PathLike,
    *,
    artifacts: Sequence[str] = ARTIFACTS,
    mutants: int = 200,
    seed: int = 0,
    timeout: float = 60.0,
    reseal: bool = False,
) -> list[FuzzResult]:
    """Load ``mutants`` seeded mutants of each artifact; return the outcome counts per artifact.

    ``reseal`` rewrites each mutant's digest to match, as a tamperer could: it measures what
    the engines and the warm-up catch on their own (the fuzz test does not use it).
    """
    artifact_dir = Path(artifact_dir)
    results = []
    with tempfile.TemporaryDirectory(prefix="edgeport-fuzz-") as tmp:
        worker = _Worker(Path(tmp) / "worker.log", timeout)
        try:
            for index, name in enumerate(artifacts):
                results.append(
                    _fuzz_one(artifact_dir / name, Path(tmp), worker, mutants, [seed, index], reseal)
                )
        finally:
            worker.stop()
    return results


def _fuzz_one(
    path: Path, tmp: Path, worker: _Worker, mutants: int, seed: list[int], reseal: bool
) -> FuzzResult:
    data = path.read_bytes()
    span = metadata_span(path, data)
    rng = np.random.default_rng(seed)
    result = FuzzResult(path.name)
    target = tmp / f"mutant{path.suffix}"
    for i in range(mutants):
        op = OPERATIONS[i % len(OPERATIONS)]
        mutant = mutate(data, span, op, rng)
        assert mutant != data, op
        if reseal:
            mutant = _reseal(mutant)
        target.write_bytes(mutant)
        outcome = worker.load(target)
        result.mutants += 1
        result.operations[op] += 1
        result.outcomes[outcome["result"]] += 1
        result.integrity_refusals += "integrity check failed" in outcome["message"]
        if outcome["result"] != "refused" and len(result.failures) < 10:
            result.failures.append(f"#{i} {op}: {outcome['result']} {outcome['type']} {outcome['message'][:200]}")
    return result


def format_table(results: Sequence[FuzzResult]) -> str:
    """Markdown table: one row per artifact kind."""
    lines = [
        "| file | mutants | refused at load (`ModelFileError`) | of which \"integrity check failed\" "
        "| loaded | other exception | crashed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o = r.outcomes
        lines.append(
            f"| `{r.artifact}` | {r.mutants} | {o['refused']} ({100 * o['refused'] / max(r.mutants, 1):.0f}%) "
            f"| {r.integrity_refusals} | {o['loaded']} | {o['other']} | {o['crash']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.splitlines()[0])
    p.add_argument("artifact_dir", type=Path, help="folder with model.onnx, model.int8.onnx, model.tflite, ...")
    p.add_argument("--mutants", type=int, default=200, help="mutants per artifact (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--reseal", action="store_true",
        help="recompute each mutant's digest (what a tamperer can do): tests the engines and warm-up alone",
    )
    args = p.parse_args(argv)
    missing = [a for a in ARTIFACTS if not (args.artifact_dir / a).is_file()]
    if missing or args.mutants < 1:
        why = f"missing {missing} in {args.artifact_dir}" if missing else "--mutants must be >= 1"
        print(f"error: {why}", file=sys.stderr)
        return 2
    results = fuzz(args.artifact_dir, mutants=args.mutants, seed=args.seed, reseal=args.reseal)
    print(format_table(results))
    ops = results[0].operations
    print(f"\nper file: {', '.join(f'{n} {op}' for op, n in ops.items())}; seed {args.seed}")
    for r in results:
        for failure in r.failures:
            print(f"{r.artifact} {failure}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
