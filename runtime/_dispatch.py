"""Thread defaults and bounded chunks: which engine instance runs a batch, and how big a piece.

With default arguments a Model keeps two engine instances of the same artifact: a 1-thread one
for small batches (a pool of worker threads pays a wake-up on every call, which dominates a
~10-30 us inference) and an N-thread one (N = usable cores) for batches of ``crossover`` rows or
more, where splitting the work across cores wins on an idle machine. The crossover is per
backend (docs/threads.md). At and above it, the instance that has been faster per row runs the
batch, re-checked every PROBE_EVERY-th call, so a machine whose cores are busy with other work
falls back to 1 thread. ``num_threads=`` given explicitly keeps a single instance.

Every batch is also cut into chunks of at most ``max_batch`` rows, decided at load, so an engine
never sees a batch it cannot handle (LiteRT's XNNPACK path overflows above 2**31 input elements)
and the engine's activation memory stays bounded. Chunks are run in order and their outputs
concatenated: the result is identical to predicting the rows one chunk at a time.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Callable

import numpy as np

# First batch size (rows) that goes to the N-thread instance; see docs/threads.md.
CROSSOVER_ROWS = {"onnxruntime": 32, "litert": 64}
# LiteRT's float-activation kernels (fp32, float16 and dynamic-range weights) gain from N threads
# at every batch size on an idle 2-core machine (MLP fp32: 16 vs 24 us at batch 1; dynamic: 334 vs
# 489 us at batch 256, `python -m benchmarks.threadcheck`), but only while the pool's threads stay
# warm: an instance probed one call in 16 pays their wake-up and looks slower (32 us). So these
# models run every batch on the N-thread instance.
FLOAT_MODES = ("none", "float16", "dynamic")
# Input elements per chunk: 2**24 (64 MiB as float32) keeps every tensor of a model whose widest
# activation is up to 128x its input below 2**31 elements, and bounds the engine's arena.
CHUNK_ELEMENTS = 2**24
# Batches at or above the crossover: how often the slower-looking instance is re-measured.
PROBE_EVERY = 16


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def default_max_batch(item_size: int) -> int:
    """Rows per chunk for an input of ``item_size`` elements per row."""
    return max(1, CHUNK_ELEMENTS // max(1, item_size))


class Dispatcher:
    """Looks like one backend (``run(x)`` plus its facts) over one or two engine instances.

    ``make(num_threads)`` builds an engine instance; the N-thread instance is built on the first
    batch that needs it, so loading and batch-1 use cost what a single instance costs.
    """

    def __init__(
        self,
        make: Callable[[int | None], Any],
        *,
        num_threads: int | None,
        max_batch: int,
        cores: int | None = None,
    ) -> None:
        cores = usable_cores() if cores is None else cores
        self._make = make
        self._lock = threading.Lock()
        self._max_batch = max_batch
        if num_threads is not None or cores == 1:
            first = make(num_threads if num_threads is not None else 1)
            self.crossover = sys.maxsize  # never switches: one instance
            self._large_threads = None
        else:
            first = make(1)
            self.crossover = CROSSOVER_ROWS.get(first.name, 64)
            self._large_threads = cores
        self._small = first
        self._large = None
        # moving averages of ns per row for batches >= crossover, per size class:
        # {bucket: [1-thread, N-thread]}; see _run_large
        self._cost_ns_per_row: dict[int, list[float | None]] = {}
        self._large_calls: dict[int, int] = {}
        self._always_large = False
        self.explicit_threads = num_threads
        self._set_direct()

    @property
    def max_batch(self) -> int:
        """Rows per engine call: bigger batches run in chunks of this many rows."""
        return self._max_batch

    @max_batch.setter
    def max_batch(self, rows: int) -> None:
        self._max_batch = rows
        self._set_direct()

    def _set_direct(self) -> None:
        # Batches of at most direct_rows rows need no decision here: the caller may hand them
        # straight to direct_run (the small-batch instance's run), saving a call on the hot path.
        self.direct_rows = min(self._max_batch, self.crossover - 1)
        self.direct_run = self._small.run

    def tune(self, quantization_mode: str) -> None:
        """Adjust the policy to the artifact's arithmetic (called once, at load)."""
        if self._large_threads is not None and self._small.name == "litert" and quantization_mode in FLOAT_MODES:
            self.crossover = 1
            self._always_large = True
        self._set_direct()

    def __getattr__(self, name: str) -> Any:
        # name, io_names, dtypes, quantization, metadata_json (and e.g. `session` for
        # diagnostics) are the same on both instances: read them from the first one
        if name.startswith("__") or name in ("_small", "_make"):
            raise AttributeError(name)
        return getattr(self._small, name)

    @property
    def thread_settings(self) -> dict[str, Any]:
        if self._large_threads is None:
            return dict(self._small.thread_settings)
        return {
            "policy": f"1 thread below {self.crossover} rows; from {self.crossover} rows, 1 or "
            f"{self._large_threads} threads, whichever has been faster per row (two engine instances)",
            "small_batches": dict(self._small.thread_settings),
            "large_batches_threads": self._large_threads,
        }

    def engine_for(self, rows: int) -> Any:
        """The engine instance that runs a batch of ``rows`` rows (built on first use)."""
        if rows < self.crossover or self._large_threads is None:
            return self._small
        large = self._large
        if large is None:
            with self._lock:
                if self._large is None:
                    self._large = self._make(self._large_threads)
                large = self._large
        return large

    def run(self, x: np.ndarray) -> np.ndarray:
        """The output for ``x``, as float32: chunked, on the instance the policy picks."""
        rows = x.shape[0]
        if rows <= self._max_batch:
            if rows < self.crossover:
                return self._small.run(x)
            if self._always_large:
                return self.engine_for(rows).run(x)
            return self._run_large(x)
        step = self._max_batch
        return np.concatenate([self.run(x[i : i + step]) for i in range(0, rows, step)])

    def _run_large(self, x: np.ndarray) -> np.ndarray:
        """Run a batch at or above the crossover on the instance that has been faster per row.

        On an idle machine that is the N-thread one; when other processes keep the cores busy,
        a descheduled worker thread stalls every call and 1 thread wins. Every PROBE_EVERY-th
        large call runs on the other instance, so the per-row costs (moving averages) follow
        the machine's load. Both instances compute the same result.
        """
        # per-row costs are kept per size class (powers of two): a row costs far more at batch 1
        # than at batch 256, so one average over all sizes would compare unlike with unlike
        bucket = x.shape[0].bit_length()
        cost = self._cost_ns_per_row.setdefault(bucket, [None, None])
        calls = self._large_calls[bucket] = self._large_calls.get(bucket, 0) + 1
        if cost[1] is None or cost[0] is None:
            use = 1 if cost[1] is None else 0
        else:
            use = int(cost[1] <= cost[0])
            if calls % PROBE_EVERY == 0:
                use = 1 - use
        engine = self.engine_for(x.shape[0]) if use else self._small
        start = time.perf_counter_ns()
        y = engine.run(x)
        per_row = (time.perf_counter_ns() - start) / x.shape[0]
        old = cost[use]
        # None: never run. 0.0: warmed up (a first call pays one-off allocations), not measured.
        cost[use] = 0.0 if old is None else per_row if old == 0.0 else old + 0.25 * (per_row - old)
        return y
