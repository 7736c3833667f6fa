"""Thread defaults and bounded chunks: which engine instance runs a batch, and how big a piece.

With default arguments a Model keeps two engine instances of the same artifact: a 1-thread one
for small batches (a pool of worker threads pays a wake-up on every call, which dominates a
~10-30 us inference) and an N-thread one (N = usable cores) for batches of ``crossover`` rows or
more, where splitting the work across cores wins. The crossover is per backend and was measured
on the reference 2-core machine (docs/threads.md). ``num_threads=`` given explicitly keeps a
single instance with that setting.

Every batch is also cut into chunks of at most ``max_batch`` rows, decided at load, so an engine
never sees a batch it cannot handle (LiteRT's XNNPACK path overflows above 2**31 input elements)
and the engine's activation memory stays bounded. Chunks are run in order and their outputs
concatenated: the result is identical to predicting the rows one chunk at a time.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

import numpy as np

# First batch size (rows) that goes to the N-thread instance; see docs/threads.md.
CROSSOVER_ROWS = {"onnxruntime": 32, "litert": 64}
# Input elements per chunk: 2**24 (64 MiB as float32) keeps every tensor of a model whose widest
# activation is up to 128x its input below 2**31 elements, and bounds the engine's arena.
CHUNK_ELEMENTS = 2**24


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
        self.max_batch = max_batch
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
        self.explicit_threads = num_threads

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
            "policy": f"1 thread below {self.crossover} rows, {self._large_threads} threads from "
            f"{self.crossover} rows (two engine instances)",
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
        rows = x.shape[0]
        if rows <= self.max_batch:
            if rows < self.crossover:
                return self._small.run(x)
            return self.engine_for(rows).run(x)
        step = self.max_batch
        engine = self.engine_for(step)
        parts = [engine.run(x[i : i + step]) if i + step <= rows else self.engine_for(rows - i).run(x[i:])
                 for i in range(0, rows, step)]
        return np.concatenate(parts)
