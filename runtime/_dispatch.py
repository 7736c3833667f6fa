"""Thread defaults and bounded chunks: which engine instance runs a batch, and how big a piece.

With default arguments a Model keeps two engine instances of the same artifact: a 1-thread one
and an N-thread one (N = usable cores, built on the first batch that needs it). Below the
``crossover`` rows of the backend (onnxruntime: 32; LiteRT: none), batches run on the 1-thread
instance: onnxruntime's pool pays a wake-up on every call, which dominates a small inference.
From the crossover up, the instance that has been faster recently runs the batch (``_Chooser``):
per size class, the 1-thread instance runs first; now and then a comparison runs a few calls on
the other instance and a few back on the chosen one, and the instance estimated faster over the
recent comparisons runs from then on. On an idle machine that is usually the N-thread one; with a
core busy with other work, a descheduled worker stalls some calls, and either may win.
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
import weakref
from typing import Any, Callable

import numpy as np

# First batch size (rows) that the two instances compete for; see docs/threads.md.
# LiteRT (XNNPACK) can gain from N threads from 1 or 2 rows up, in every mode (the MLP on an idle
# 2-core machine: fp32 at batch 1 29 vs 36 us, int8 at batch 2 29 vs 33 us), and loses as much with
# a core busy, so its instances compete from 1 row. onnxruntime's pool costs ~30 us per call below
# 32 rows at any load (docs/threads.md).
CROSSOVER_ROWS = {"onnxruntime": 32, "litert": 1}
# Input elements per chunk: 2**24 (64 MiB as float32) keeps every tensor of a model whose widest
# activation is up to 128x its input below 2**31 elements, and bounds the engine's arena.
CHUNK_ELEMENTS = 2**24
# The competition, per size class. Every so often a comparison runs one side of calls on the other
# instance, then one back on the chosen one. A side lasts at least SIDE_CALLS calls and SIDE_NS;
# its first WARMUP_CALLS calls and WARMUP_NS are not counted: an instance idle for a while is slow
# at first (its pool's workers and their core wake up, its weights come back into the cache;
# ~0.5 ms for the MLP in fp32 on a 2-core VM, measured in docs/threads.md). Between comparisons
# the chosen instance runs at least GAP_CALLS calls and GAP_NS, up to QUIET_MAX times that while
# comparisons keep confirming the choice. So a side on the slower instance costs ~1/15 of the time
# while the choice changes and ~1/120 while it holds, times how much slower it is. The other
# instance must be estimated faster by the margin SWITCH_BELOW to take over.
SIDE_CALLS, SIDE_NS = 12, 20_000_000
WARMUP_CALLS, WARMUP_NS = 4, 1_000_000
GAP_CALLS, GAP_NS = 192, 250_000_000
QUIET_MAX = 8
SWITCH_BELOW = 0.97
# the first comparison comes early, so a busy machine is noticed within a few dozen calls
FIRST_COMPARISON_AFTER = 30


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

    Now and then a comparison runs one side of calls on the other instance, then one back on the
    chosen one, and times both sides alike: each side's first calls pay for the switch and are
    not counted, so neither side is timed warm against the other cold. Each instance keeps an
    estimate of its time per row, half the old estimate plus half its new side's trimmed mean.
    Means, not medians: with a core busy the N-thread instance's calls are bimodal (its worker
    has the core, or waits for it), and the mean is what a stream of calls pays. Blending keeps
    one noisy comparison from flipping the choice; a change of load is still followed within
    two or three comparisons. Sides and gaps are sized in calls from the last call's time.

    Statistics only: calls from several threads may interleave their bookkeeping, which blurs
    the figures but never a result (both instances compute the same outputs).
    """

    __slots__ = ("use", "run", "countdown", "gap", "side", "warmup", "left", "window", "estimate", "quiet")

    def __init__(self, use: int, run: Callable[[np.ndarray], np.ndarray]) -> None:
        self.use = use  # 0: the 1-thread instance, 1: the N-thread one
        self.run = run  # the chosen instance's run, set by the Dispatcher when `use` changes
        self.gap = FIRST_COMPARISON_AFTER  # calls between the last comparison and the next
        self.countdown = self.gap  # calls left on `use` before the next comparison
        self.side = self.warmup = 0  # calls per side of the running comparison, and uncounted ones
        self.left = 0  # calls left in the running comparison: 2 * side .. 1, or 0 (none running)
        self.window: list[float] = []  # ns per row of the current side's counted calls
        self.estimate: list[float | None] = [None, None]  # ns per row, per instance
        self.quiet = 1  # the gap's multiple of its minimum

    def start(self, call_ns: float) -> None:
        """Open a comparison, sized from ``call_ns``, the time of a call on ``use`` just before."""
        call_ns = max(call_ns, 1.0)
        self.side = max(SIDE_CALLS, int(SIDE_NS / call_ns) + 1)
        self.warmup = max(WARMUP_CALLS, int(WARMUP_NS / call_ns) + 1)
        self.left, self.window = 2 * self.side, []

    def current(self) -> int:
        """The instance the running comparison's next call goes to: the other one, then ``use``."""
        return 1 - self.use if self.left > self.side else self.use

    def record(self, ns_per_row: float, rows: int) -> None:
        """Book one call of the running comparison; at its end, switch if the other instance is
        now estimated faster by the margin, and set the gap to the next comparison."""
        if self.left <= 0:  # another thread ended the comparison meanwhile
            return
        done = 2 * self.side - self.left  # calls of the comparison before this one
        self.left -= 1
        if done % self.side >= self.warmup:
            self.window.append(ns_per_row)
        if self.left == self.side:  # the other instance's side is over
            self._blend(1 - self.use, self.window)
        elif self.left == 0:
            self._blend(self.use, self.window)
            mine, theirs = self.estimate[self.use], self.estimate[1 - self.use]
            if mine is not None and theirs is not None and theirs < SWITCH_BELOW * mine:
                self.use, self.quiet = 1 - self.use, 1
            else:  # confirmed: compare less often
                self.quiet = min(2 * self.quiet, QUIET_MAX)
            call_ns = max((self.estimate[self.use] or 0.0) * rows, 1.0)
            self.gap = self.countdown = self.quiet * max(GAP_CALLS, int(GAP_NS / call_ns))

    def _blend(self, instance: int, window: list[float]) -> None:
        self.window = []
        if not window:
            return
        new = _trimmed_mean(window)
        old = self.estimate[instance]
        self.estimate[instance] = new if old is None else 0.5 * (old + new)


def _trimmed_mean(values: list[float]) -> float:
    """The mean of all but the slowest 5% (at least one, of 3 or more): stalls such as a page fault
    or a preemption of the caller are not the instance's speed."""
    if len(values) < 3:
        return sum(values) / len(values)
    kept = sorted(values)[: len(values) - max(1, len(values) // 20)]
    return sum(kept) / len(kept)


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
        self._bind()

    @property
    def max_batch(self) -> int:
        """Rows per engine call: bigger batches run in chunks of this many rows."""
        return self._max_batch

    @max_batch.setter
    def max_batch(self, rows: int) -> None:
        self._max_batch = rows
        self._bind()

    def _bind(self) -> None:
        """``run(x)``, the per-call path, as a closure over locals (at batch 1 every attribute lookup
        is ~1% of a LiteRT call); and ``direct_rows``/``direct_run``: batches of at most
        ``direct_rows`` rows need no decision, so the caller may hand them straight to the
        small-batch instance. It holds the Dispatcher only weakly (no reference cycle)."""
        self.direct_rows = min(self._max_batch, self.crossover - 1)
        self.direct_run = small_run = self._small.run
        max_batch, crossover, choosers = self._max_batch, self.crossover, self._choosers
        me = weakref.ref(self)

        def run(x: np.ndarray) -> np.ndarray:
            """The output for ``x``, as float32: chunked, on the instance the policy picks."""
            rows = x.shape[0]
            if rows <= max_batch:
                if rows < crossover:
                    return small_run(x)
                chooser = choosers.get(rows.bit_length())
                if chooser is not None and chooser.countdown > 0:  # most competing calls: untimed
                    chooser.countdown -= 1
                    return chooser.run(x)
                return me()._run_compete(x, rows)
            return np.concatenate([run(x[i : i + max_batch]) for i in range(0, rows, max_batch)])

        self.run = run

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
        below = f"1 thread below {self.crossover} rows; from {self.crossover} rows, " if self.crossover > 1 else ""
        return {
            "policy": f"{below}1 or {self._large_threads} threads, whichever has been faster lately for "
            f"that batch size (two engine instances)",
            "small_batches": dict(self._small.thread_settings),
            "large_batches_threads": self._large_threads,
        }

    def engine_for(self, rows: int) -> Any:
        """The engine instance a batch of ``rows`` rows runs on now (built on first use)."""
        if rows < self.crossover or self._large_threads is None:
            return self._small
        chooser = self._choosers.get(rows.bit_length())
        return self._large_instance() if chooser is not None and chooser.use else self._small

    def threads_for(self, rows: int) -> int:
        """Threads of the instance a batch of ``rows`` rows runs on now (builds nothing)."""
        if self._large_threads is None:
            return self.explicit_threads or 1
        if rows < self.crossover:
            return 1
        chooser = self._choosers.get(rows.bit_length())
        return self._large_threads if chooser is not None and chooser.use else 1

    def _large_instance(self) -> Any:
        large = self._large
        if large is None:
            with self._lock:
                if self._large is None:
                    self._large = self._make(self._large_threads)
                large = self._large
        return large

    def _run_compete(self, x: np.ndarray, rows: int) -> np.ndarray:
        """Run a batch the two instances compete for on the chooser's pick, timing it in a comparison."""
        chooser = self._choosers.get(rows.bit_length())
        if chooser is None:  # start on the 1-thread instance: nothing more to build before a comparison
            chooser = self._choosers.setdefault(rows.bit_length(), _Chooser(0, self._small.run))
        if not chooser.left:
            if chooser.countdown > 0:
                chooser.countdown -= 1
                return chooser.run(x)
            start = time.perf_counter_ns()  # the gap's last call sizes the comparison it opens
            y = chooser.run(x)
            chooser.start(time.perf_counter_ns() - start)
            return y
        if chooser.current() and self._large is None:  # built now; its first call starts its pool
            self._large_instance().run(x)
        engine = self._large_instance() if chooser.current() else self._small
        start = time.perf_counter_ns()
        y = engine.run(x)
        chooser.record((time.perf_counter_ns() - start) / rows, rows)
        if not chooser.left:  # the comparison is over: the next calls go to the chosen instance
            chooser.run = (self._large_instance() if chooser.use else self._small).run
        return y
