"""Thread defaults and bounded chunks: which engine instance runs a batch, and how big a piece.

With default arguments a Model keeps two engine instances of the same artifact: a 1-thread one
and an N-thread one (N = usable cores, built on the first batch that needs it). Below the
``crossover`` rows of the backend, batches run on the 1-thread instance: a pool of worker threads
pays a wake-up on every call, which dominates a ~10-30 us inference. From the crossover up, and
for LiteRT's float-activation models at every size, the instance that has been faster recently
runs the batch (``_Chooser``): per size class, the chosen instance runs ``EXPLORE_EVERY`` calls,
then the other one runs a burst of ``BURST`` calls (its first is a warm-up: a sleeping pool
wakes up), and the faster median wins. On an idle machine that is usually the N-thread one;
with a core busy with other work, a descheduled worker stalls every call and 1 thread wins.
``num_threads=`` given explicitly keeps a single instance. Measurements: docs/threads.md.

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

# First batch size (rows) that the two instances compete for; see docs/threads.md.
CROSSOVER_ROWS = {"onnxruntime": 32, "litert": 64}
# LiteRT's float-activation kernels (fp32, float16 and dynamic-range weights) can gain from N
# threads at every batch size (MLP fp32 at batch 1 on an idle 2-core machine: 16 vs 24 us), so for
# these models the instances compete from 1 row up.
FLOAT_MODES = ("none", "float16", "dynamic")
# Input elements per chunk: 2**24 (64 MiB as float32) keeps every tensor of a model whose widest
# activation is up to 128x its input below 2**31 elements, and bounds the engine's arena.
CHUNK_ELEMENTS = 2**24
# The competition, per size class: calls on the chosen instance between two bursts on the other
# one, the burst's length (its first call unmeasured), how many calls before a burst are timed,
# and the margin the other instance must win by to be chosen. A burst on the slower instance
# costs ~BURST / EXPLORE_EVERY of the calls, a few percent of the time.
EXPLORE_EVERY = 192
BURST = 8
TIMED_BEFORE_BURST = 15
SWITCH_BELOW = 0.97
# the first burst comes early, so a busy machine is noticed within a few dozen calls
FIRST_BURST_AFTER = 2 * TIMED_BEFORE_BURST
# calls on the chosen instance after a burst that are not timed
UNTIMED_CALLS = EXPLORE_EVERY - TIMED_BEFORE_BURST


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def default_max_batch(item_size: int) -> int:
    """Rows per chunk for an input of ``item_size`` elements per row."""
    return max(1, CHUNK_ELEMENTS // max(1, item_size))


class _Chooser:
    """Which instance runs the batches of one size class, from their measured call times.

    Statistics only: calls from several threads may interleave their bookkeeping, which blurs
    the figures but never a result (both instances compute the same outputs).
    """

    __slots__ = ("use", "calls", "recent", "burst", "burst_left")

    def __init__(self, use: int) -> None:
        self.use = use  # 0: the 1-thread instance, 1: the N-thread one
        self.calls = EXPLORE_EVERY - FIRST_BURST_AFTER  # calls on `use` since the last burst
        self.recent: list[float] = []  # ns per row of the last timed calls on `use`
        self.burst: list[float] = []  # ns per row in the current burst on the other instance
        self.burst_left = 0

    def record(self, exploring: bool, ns_per_row: float) -> None:
        """Book one timed call; after a burst, switch if the other instance was faster."""
        if not exploring:
            self.recent.append(ns_per_row)
            if len(self.recent) > TIMED_BEFORE_BURST:
                del self.recent[0]
            return
        self.burst_left -= 1
        if self.burst_left < BURST - 1:  # the burst's first call woke the instance up
            self.burst.append(ns_per_row)
        if self.burst_left <= 0:
            burst, self.burst = self.burst, []
            if burst and self.recent and _median(burst) < SWITCH_BELOW * _median(self.recent):
                self.use = 1 - self.use
                self.recent = burst
            self.calls = 0


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


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
        self._choosers: dict[int, _Chooser] = {}  # per size class: rows.bit_length()
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
            f"{self._large_threads} threads, whichever has been faster lately for that batch size "
            f"(two engine instances)",
            "small_batches": dict(self._small.thread_settings),
            "large_batches_threads": self._large_threads,
        }

    def engine_for(self, rows: int) -> Any:
        """The engine instance a batch of ``rows`` rows runs on now (built on first use)."""
        if rows < self.crossover or self._large_threads is None:
            return self._small
        chooser = self._choosers.get(rows.bit_length())
        return self._large_instance() if chooser is None or chooser.use else self._small

    def threads_for(self, rows: int) -> int:
        """Threads of the instance a batch of ``rows`` rows runs on now (builds nothing)."""
        if self._large_threads is None:
            return self.explicit_threads or 1
        if rows < self.crossover:
            return 1
        chooser = self._choosers.get(rows.bit_length())
        return self._large_threads if chooser is None or chooser.use else 1

    def _large_instance(self) -> Any:
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
            # most competing calls: on the chosen instance, untimed (inline: a ~20 us float
            # LiteRT call at batch 1 competes too, and every frame here is ~1% of it)
            chooser = self._choosers.get(rows.bit_length())
            if chooser is not None and not chooser.burst_left and chooser.calls < UNTIMED_CALLS:
                engine = self._large if chooser.use else self._small
                if engine is not None:
                    chooser.calls += 1
                    return engine.run(x)
            return self._run_compete(x, rows)
        step = self._max_batch
        return np.concatenate([self.run(x[i : i + step]) for i in range(0, rows, step)])

    def _run_compete(self, x: np.ndarray, rows: int) -> np.ndarray:
        """Run a batch the two instances compete for on the chooser's pick, timing it when needed."""
        chooser = self._choosers.get(rows.bit_length())
        if chooser is None:  # start on the N-thread instance: the faster one on an idle machine
            chooser = self._choosers.setdefault(rows.bit_length(), _Chooser(use=1))
        if chooser.burst_left:
            exploring, use = True, 1 - chooser.use
        else:
            calls = chooser.calls = chooser.calls + 1
            if calls > EXPLORE_EVERY:  # this call opens a burst on the other instance
                chooser.burst_left = BURST
                exploring, use = True, 1 - chooser.use
            elif calls <= UNTIMED_CALLS:
                return (self._large_instance() if chooser.use else self._small).run(x)
            else:
                exploring, use = False, chooser.use
        engine = self._large_instance() if use else self._small
        start = time.perf_counter_ns()
        y = engine.run(x)
        chooser.record(exploring, (time.perf_counter_ns() - start) / rows)
        return y
