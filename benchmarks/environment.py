"""What the benchmark ran on: CPU, cores, versions, thread-related environment."""
from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import os
import platform
import sys
from typing import Any, Iterator

PACKAGES = ("numpy", "onnxruntime", "ai-edge-litert", "tensorflow", "keras", "matplotlib", "psutil")
THREAD_ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
)
# scipy-openblas (numpy >= 2 wheels) prefixes its symbols; plain OpenBLAS does not
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def package_versions() -> dict[str, str | None]:
    """Installed versions from package metadata; nothing is imported."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _openblas() -> tuple[Any, Any] | None:
    """(set, get) num-threads functions of the OpenBLAS loaded by numpy, if any."""
    import numpy  # noqa: F401  (make sure its BLAS is loaded)

    paths = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.split()[-1] if line.strip() else ""
                if "openblas" in path.lower() and path not in paths:
                    paths.append(path)
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _OPENBLAS_SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


def blas_threads() -> int | None:
    """numpy's current OpenBLAS thread count, or None if it cannot be read."""
    fns = _openblas()
    return int(fns[1]()) if fns else None


@contextlib.contextmanager
def blas_thread_limit(n: int) -> Iterator[int | None]:
    """Set numpy's OpenBLAS to ``n`` threads inside the block; yields the count read back."""
    fns = _openblas()
    if fns is None:
        yield None
        return
    setter, getter = fns
    before = int(getter())
    setter(n)
    try:
        yield int(getter())
    finally:
        setter(before)


def collect_environment(threads: int) -> dict[str, Any]:
    """The machine and software the benchmark ran on."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        memory_total = psutil.virtual_memory().total
    except ImportError:
        physical, memory_total = None, None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    import numpy as np

    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": physical,
        "usable_cores": affinity,
        "memory_total_bytes": memory_total,
        "load_average": load,
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "packages": package_versions(),
        "numpy_blas": {"name": blas.get("name"), "version": blas.get("version")},
        "threads_requested": threads,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV_VARS},
    }
