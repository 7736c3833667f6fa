"""The measurement loop and its statistics (numpy only, safe to import anywhere)."""
from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class MeasureSettings:
    """How long one (subject, batch size) is measured.

    After ``warmup_runs`` untimed calls, calls are timed one by one until BOTH
    ``min_time_s`` of measured time and ``min_runs`` calls are reached, or
    until ``max_time_s`` caps the phase (then fewer than ``min_runs`` may run).
    """

    warmup_runs: int
    min_time_s: float
    min_runs: int
    max_time_s: float

    def __post_init__(self) -> None:
        if self.warmup_runs < 0 or self.min_runs < 1:
            raise ValueError(f"bad run counts in {self}")
        if not 0 <= self.min_time_s <= self.max_time_s:
            raise ValueError(f"need 0 <= min_time_s <= max_time_s in {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = MeasureSettings(warmup_runs=20, min_time_s=1.0, min_runs=200, max_time_s=10.0)
QUICK = MeasureSettings(warmup_runs=3, min_time_s=0.02, min_runs=5, max_time_s=0.25)


@dataclass(frozen=True)
class Measurement:
    """Per-call wall times (ns) of one subject at one batch size."""

    batch_size: int
    times_ns: np.ndarray
    warmup_runs: int
    hit_max_time: bool
    elapsed_ns: int  # wall time of the measured phase (the stop rule's clock), loop included
    rounds_p50_ms: tuple[float, ...] = ()  # p50 of each round, when measured in rounds

    @property
    def runs(self) -> int:
        return int(self.times_ns.size)

    @property
    def total_s(self) -> float:
        return float(self.times_ns.sum()) / 1e9

    def latency_ms(self) -> dict[str, float]:
        """min, mean, std, p50, p90, p95, p99, max of the per-call time, in milliseconds."""
        return latency_stats_ms(self.times_ns)

    def throughput_sps(self) -> float:
        """Samples per second over the whole measured phase."""
        return self.batch_size * self.runs / self.total_s if self.total_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "warmup_runs": self.warmup_runs,
            "runs": self.runs,
            "measured_time_s": self.total_s,
            "elapsed_s": self.elapsed_ns / 1e9,
            "hit_max_time": self.hit_max_time,
            "latency_ms": self.latency_ms(),
            "throughput_sps": self.throughput_sps(),
            "rounds_p50_ms": list(self.rounds_p50_ms),
        }


def latency_stats_ms(times_ns: np.ndarray) -> dict[str, float]:
    """Summary statistics of per-call times given in nanoseconds, returned in milliseconds."""
    t = np.asarray(times_ns, dtype=np.float64) / 1e6
    if t.size == 0:
        raise ValueError("no timings to summarise")
    stats = {
        "min": float(t.min()),
        "mean": float(t.mean()),
        "std": float(t.std(ddof=1)) if t.size > 1 else 0.0,
    }
    for p, v in zip(PERCENTILES, np.percentile(t, PERCENTILES)):
        stats[f"p{p}"] = float(v)
    stats["max"] = float(t.max())
    return stats


def measure(fn: Callable[[], object], settings: MeasureSettings, batch_size: int) -> Measurement:
    """Warm ``fn`` up, then time it call by call with gc disabled (see MeasureSettings)."""
    for _ in range(settings.warmup_runs):
        fn()
    min_ns = int(settings.min_time_s * 1e9)
    max_ns = int(settings.max_time_s * 1e9)
    min_runs = settings.min_runs
    times: list[int] = []
    append = times.append
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        start = clock()
        while True:
            t0 = clock()
            fn()
            t1 = clock()
            append(t1 - t0)
            elapsed = t1 - start
            if elapsed >= max_ns or (elapsed >= min_ns and len(times) >= min_runs):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    elapsed = t1 - start
    hit_max = len(times) < min_runs or elapsed < min_ns
    return Measurement(batch_size, np.asarray(times, dtype=np.int64), settings.warmup_runs, hit_max, elapsed)


def measure_interleaved(
    calls: list[Callable[[], object]], settings: MeasureSettings, batch_size: int, rounds: int = 1
) -> list[Measurement]:
    """Measure several calls in ``rounds`` alternating rounds, so slow drifts of the machine
    (other load, frequency) hit all of them alike. Each round gets 1/rounds of the budget
    and its own warm-up; a call's rounds are merged into one Measurement."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    share = MeasureSettings(
        warmup_runs=settings.warmup_runs,
        min_time_s=settings.min_time_s / rounds,
        min_runs=max(1, -(-settings.min_runs // rounds)),
        max_time_s=settings.max_time_s / rounds,
    )
    parts: list[list[Measurement]] = [[] for _ in calls]
    for _ in range(rounds):
        for i, fn in enumerate(calls):
            parts[i].append(measure(fn, share, batch_size))
    return [
        Measurement(
            batch_size,
            np.concatenate([m.times_ns for m in ms]),
            sum(m.warmup_runs for m in ms),
            any(m.hit_max_time for m in ms),
            sum(m.elapsed_ns for m in ms),
            tuple(float(np.median(m.times_ns)) / 1e6 for m in ms),
        )
        for ms in parts
    ]
