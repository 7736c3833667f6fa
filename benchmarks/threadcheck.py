"""Default thread settings vs the best explicit ``num_threads``, measured side by side.

For each artifact and batch size, ``runtime.load(path)`` (default threads) and
``runtime.load(path, num_threads=n)`` for n = 1..cores are timed in alternating rounds on the
same images; each round takes every setting's mean time per call over an uninterrupted stream
of calls. Each setting's figure is its median over rounds; the ratio is the median over rounds of
the default's time over the best setting's in the same round. Target: default / best explicit <= ``TARGET_RATIO`` at batch 1 and 256,
both with no added load and with one core busy (``busy_core``: a spinning process pinned to the
last usable core, started before and stopped after those rows).

``python -m benchmarks.threadcheck --model-dir DIR --batch-sizes 1,2,4,...`` prints the sweep
used to choose the crossover in ``runtime._dispatch`` (docs/threads.md).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import runtime

TARGET_RATIO = 1.10
# Before timing starts, a default Model runs this many calls and seconds, so that it has compared
# its two instances a few times (runtime/_dispatch.py: the first comparison after 30 calls, the next
# after >= 0.5 s, then 1 s, ...). A user's model in a loop settles the same way.
SETTLE_CALLS = 450
SETTLE_S = 1.6
LOADS = ("idle", "one core busy")  # "idle": nothing added by the benchmark (the machine may be shared)
BUSY_MAX_S = 1800.0  # the busy process ends by itself after this, whatever happens here


@contextlib.contextmanager
def busy_core(max_seconds: float = BUSY_MAX_S) -> Iterator[int]:
    """A process spinning on the last usable core while the block runs; yields that core."""
    core = max(os.sched_getaffinity(0))
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._busy_worker", "--core", str(core), "--seconds", str(max_seconds)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        # it prints one line once pinned, then spins (a loaded machine may take seconds to start it)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "pinned" or proc.poll() is not None:
            raise RuntimeError(f"the busy-loop process exited early (code {proc.wait()})")
        yield core
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
TARGET_BATCH_SIZES = (1, 256)


def _round_mean_us(call: Callable[[], object], budget_s: float, min_calls: int) -> float:
    """Microseconds per call of an uninterrupted stream of calls for ``budget_s`` (at least
    ``min_calls``): what a caller in a loop pays, the default's explorations included. A mean, not
    a median: with a core busy, N-thread calls are bimodal (the worker has the core, or waits)."""
    for _ in range(3):
        call()
    calls = 0
    start = time.perf_counter_ns()
    stop = start + int(budget_s * 1e9)
    while calls < min_calls or time.perf_counter_ns() < stop:
        call()
        calls += 1
        if calls >= 100_000:
            break
    return (time.perf_counter_ns() - start) / calls / 1e3


def measure_thread_defaults(
    paths: Sequence[Path],
    images: np.ndarray,
    batch_sizes: Sequence[int] = TARGET_BATCH_SIZES,
    *,
    rounds: int = 21,
    budget_s: float = 0.05,
    min_calls: int = 5,
    settle_calls: int = SETTLE_CALLS,
    settle_s: float = SETTLE_S,
    loads: Sequence[str] = LOADS,
) -> list[dict[str, Any]]:
    """One row per (load, artifact, batch size): default and explicit medians in microseconds.

    The "one core busy" rows need two usable cores or more (else they are left out).
    """
    rows = []
    for load in loads:
        if load not in LOADS:
            raise ValueError(f"unknown load {load!r}: expected one of {LOADS}")
        if load == "idle":
            rows += _measure(paths, images, batch_sizes, rounds, budget_s, min_calls, settle_calls, settle_s, load)
        elif runtime.usable_cores() > 1:
            with busy_core():
                rows += _measure(paths, images, batch_sizes, rounds, budget_s, min_calls, settle_calls, settle_s, load)
    return rows


def _measure(
    paths: Sequence[Path], images: np.ndarray, batch_sizes: Sequence[int], rounds: int, budget_s: float,
    min_calls: int, settle_calls: int, settle_s: float, load: str,
) -> list[dict[str, Any]]:
    from .subjects import timed_call  # here: subjects -> analysis -> threadcheck at import time

    thread_counts = list(range(1, runtime.usable_cores() + 1))
    rows = []
    for path in paths:
        models: dict[str, runtime.Model] = {"default": runtime.load(path)}
        models.update({str(n): runtime.load(path, num_threads=n) for n in thread_counts})
        for bs in batch_sizes:
            batch = images[:bs]
            for key, m in models.items():  # steady state: the default has compared both instances
                call, calls, stop = timed_call(m), 0, time.perf_counter() + (settle_s if key == "default" else 0.0)
                while calls < (settle_calls if key == "default" else 5) or time.perf_counter() < stop:
                    call(batch)
                    calls += 1
            per_round: dict[str, list[float]] = {k: [] for k in models}
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                for r in range(rounds):
                    order = list(models.items())
                    if r % 2:
                        order.reverse()  # alternate who goes first
                    for key, m in order:
                        per_round[key].append(
                            _round_mean_us(lambda call=timed_call(m): call(batch), budget_s, min_calls)
                        )
            finally:
                if gc_was_enabled:
                    gc.enable()
            med = {k: float(np.median(v)) for k, v in per_round.items()}
            explicit = {int(k): v for k, v in med.items() if k != "default"}
            best = min(explicit, key=explicit.get)
            # paired: each round's default against the same round's best setting, so that a drift of
            # the machine's speed between rounds (a shared host) cancels out
            ratio = float(np.median(np.divide(per_round["default"], per_round[str(best)])))
            rows.append({
                "load": load,
                "load_average": _load_average(),
                "artifact": path.name,
                "backend": models["default"].backend,
                "batch_size": bs,
                "default_us": med["default"],
                "explicit_us": explicit,
                "best_threads": best,
                "ratio_default_to_best": ratio,
                # the instance the default runs this batch on now (threads), e.g. the very
                # configuration of an explicit setting: then their gap is the machine's noise
                "default_ran_threads": models["default"].threads_for(bs),
                "within_target": ratio <= TARGET_RATIO if bs in TARGET_BATCH_SIZES else None,
                "default_thread_settings": models["default"].thread_settings,
                "rounds": rounds,
            })
        del models
    return rows


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def thread_targets(rows: Sequence[dict[str, Any]], bound: float = TARGET_RATIO) -> list[dict[str, Any]]:
    """Target rows (same keys as benchmarks.analysis.target's) for the batch sizes in TARGET_BATCH_SIZES."""
    targets = []
    for r in rows:
        if r["batch_size"] not in TARGET_BATCH_SIZES:
            continue
        shown = ", ".join(f"{n} thread(s) {us:.1f} us" for n, us in sorted(r["explicit_us"].items()))
        value = r["ratio_default_to_best"]
        busy = r.get("load", "idle") != "idle"
        targets.append({
            "id": f"thread_default:{r['artifact']}:bs{r['batch_size']}" + (":busy" if busy else ""),
            "description": f"default threads vs best explicit num_threads, {r['artifact']}, batch {r['batch_size']}"
            + (", one core busy" if busy else ""),
            "value": value, "comparison": "<=", "bound": bound, "unit": "x.xx", "met": value <= bound,
            "detail": f"default {r['default_us']:.1f} us"
            + (f" (ran on {r['default_ran_threads']} thread(s))" if r.get("default_ran_threads") else "")
            + f" vs {shown} (medians of {r['rounds']} alternating rounds; the ratio: the median of the rounds' ratios"
            + (f"; load average {'/'.join(map(str, r['load_average']))}" if r.get("load_average") else "") + ")",
        })
    return targets


def format_sweep(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of a sweep."""
    counts = sorted({n for r in rows for n in r["explicit_us"]})
    head = ("| load | artifact | batch | default (ran on) | " + " | ".join(f"{n} thread(s)" for n in counts)
            + f" | default/best | within {TARGET_RATIO - 1:.0%} |")
    lines = [head, "|" + "---|" * (6 + len(counts))]
    for r in rows:
        cells = [f"**{r['explicit_us'][n]:.1f}**" if n == r["best_threads"] else f"{r['explicit_us'][n]:.1f}"
                 for n in counts]
        ran = f" ({r['default_ran_threads']}t)" if r.get("default_ran_threads") else ""
        verdict = {True: "pass", False: "**FAIL**", None: "n/a"}[r.get("within_target")]
        lines.append(
            f"| {r.get('load', 'idle')} | {r['artifact']} | {r['batch_size']} | {r['default_us']:.1f}{ran} | "
            + " | ".join(cells) + f" | {r['ratio_default_to_best']:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.threadcheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", type=Path, default=Path("artifacts"))
    p.add_argument("--batch-sizes", default="1,256", help="comma-separated (default 1,256)")
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--data", default=None, help="test set .npz (x_test), as for python -m benchmarks")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: $FASHION_MNIST_DIR)")
    p.add_argument("--loads", default=",".join(LOADS), help=f"comma-separated, from {list(LOADS)} (default: both)")
    args = p.parse_args(argv)
    from runtime.console import filtered_stderr

    from .inputs import check_test_data, find_artifacts, load_test_set
    from .preflight import read_metadata

    artifacts = find_artifacts(args.model_dir)
    images, _, _ = check_test_data(load_test_set(args.data, args.data_dir), read_metadata(artifacts))
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    with filtered_stderr():
        rows = measure_thread_defaults(
            artifacts, images, sizes, rounds=args.rounds, loads=args.loads.split(",")
        )
    print(format_sweep(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
