"""Shared, session-scoped fixtures: one short-trained model (committed, tests/mlp_fixture.py),
exported once to every variant.

Nothing here is mocked: the real converters, runtimes and test set are used.

The suite runs in parallel (pytest-xdist, ``-n auto --dist loadscope`` in pyproject.toml): every
module runs whole on one worker, in the order of ``LONGEST_FIRST`` below, and each worker has its
own session. Expensive builds (the
export of the committed model, Keras's reference outputs) go through ``shared_build``: the first
worker that needs one builds it under a file lock, the others wait for it and reuse the folder.
Use it for any new fixture that trains, exports or compiles something several modules need::

    @pytest.fixture(scope="session")
    def my_models(shared_build) -> Path:
        return shared_build("my-models", lambda out: make_models(out), key=("v1", EPOCHS))

Builds live in the run's temporary folder (one build per run), or, with ``EDGEPORT_TEST_CACHE``
set to a folder, across runs, keyed by ``key`` plus a digest of the packages' code, the test
helpers and the installed converter versions.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# int16x8's 99.8% (issue 11) holds for the 30-epoch reference MLP (99.84% ONNX, 99.89% TFLite,
# README); its 8-bit weights alone leave 99.71% / 99.75% on this less confident 3-epoch model,
# and model.int16x8.onnx loses 0.11 accuracy points on it (0.10 allowed by default).
FIXTURE_THRESHOLD_OVERRIDES = ["int16x8.min_agreement=0.996", "int16x8.max_accuracy_drop=0.15"]


CACHE_ENV = "EDGEPORT_TEST_CACHE"
# what a build's output depends on besides its own key: our code and the tools it drives
_CODE = ("train", "export", "runtime", "benchmarks", "tests/conftest.py", "tests/zoo.py")
_TOOLS = ("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "tflite-micro")


# The order modules are handed to the xdist workers (pyproject: --no-loadscope-reorder; a worker
# takes its next module when two tests of its current one are left): the longest first, by CPU
# seconds per module on the 2-core machine (`--durations`, and getrusage around each test), so that
# none starts late and runs alone at the end. The two that start the run need no shared build;
# test_benchmarks then builds the shared export and test_train the CNN that test_benchmarks_cnn
# uses later, so no worker waits on another. Modules not listed (new ones) come after
# LONGEST_FIRST and before SHORTEST_LAST: list a new module that takes minutes here.
LONGEST_FIRST = (
    "test_c_warnings.py", "test_sources.py", "test_benchmarks.py", "test_train.py", "test_mlperf.py",
    "test_mcu_boards.py", "test_benchmarks_cnn.py", "test_any_model.py", "test_op_matrix.py", "test_c_output.py",
    "test_export_hardening.py", "test_csrc.py", "test_mcu.py", "test_quiet_console.py", "test_export.py",
    "test_csrc_ops.py", "test_fast_kernels.py", "test_export_embedded.py", "test_quant_steer.py",
    "test_bench_data.py", "test_runtime_hotpath.py", "test_residual_block.py", "test_simplify.py",
)
SHORTEST_LAST = ("test_integrity.py", "test_tflm.py", "test_images_cli.py", "test_bench_analysis.py",
                 "test_shared_builds.py")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than cores (at most 4, as ``--maxprocesses``): much of the suite
    waits on compilers, QEMU and child processes, and a spare worker fills those waits."""
    return min(4, (os.cpu_count() or 1) + 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules as LONGEST_FIRST, then unlisted ones, then SHORTEST_LAST (stable)."""

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        if name in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(name)
        if name in SHORTEST_LAST:
            return 2, SHORTEST_LAST.index(name)
        return 1, 0

    items.sort(key=rank)


@functools.lru_cache(maxsize=None)
def code_digest() -> str:
    """sha256 over the project's Python code (``_CODE``) and the installed versions of ``_TOOLS``."""
    from importlib import metadata

    h = hashlib.sha256()
    for entry in _CODE:
        path = REPO / entry
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    for tool in _TOOLS:
        try:
            h.update(f"{tool}=={metadata.version(tool)};".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{tool} missing;".encode())
    return h.hexdigest()


def _build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV])
    else:
        # under pytest-xdist each worker's basetemp is <run>/popen-gwN: their parent is the run's
        base = tmp_path_factory.getbasetemp()
        root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-builds"
    root.mkdir(parents=True, exist_ok=True)
    return root


def build_once(root: Path, name: str, build: Callable[[Path], Any], key: Sequence[Any] = ()) -> Path:
    """The folder ``build(folder)`` fills, built once per ``(name, key, code)`` under ``root``.

    Processes (xdist workers) and threads asking for the same build wait on a file lock while
    the first one builds into a temporary folder, which is renamed into place only when ``build``
    returns: an interrupted or failed build is never reused (the next caller builds again).
    """
    import fcntl

    digest = hashlib.sha256(repr((name, tuple(key), code_digest())).encode()).hexdigest()[:16]
    final = root / f"{name}-{digest}"
    with open(root / f".{name}-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not final.is_dir():
            staging = root / f".{name}-{digest}.building-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            build(staging)
            staging.rename(final)
    return final


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``shared_build(name, build, key=())``: see the module docstring and ``build_once``."""
    root = _build_root(tmp_path_factory)

    def shared(name: str, build: Callable[[Path], Any], key: Sequence[Any] = ()) -> Path:
        return build_once(root, name, build, key)

    return shared


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("FASHION_MNIST_DIR") or REPO.parent / "shared" / "data" / "fashion-mnist")
    assert (path / "t10k-images-idx3-ubyte.gz").is_file(), f"Fashion-MNIST not found in {path}"
    return path


@pytest.fixture(scope="session")
def mlperf_dir(data_dir: Path) -> Path:
    """The four MLPerf Tiny reference models ($MLPERF_TINY_DIR, else beside the Fashion-MNIST folder)."""
    path = Path(os.environ.get("MLPERF_TINY_DIR") or data_dir.parent / "mlperf-tiny")
    assert (path / "kws_ref_model.tflite").is_file(), f"MLPerf Tiny models not found in {path}"
    return path


@pytest.fixture(scope="session")
def test_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from train.data import load_split

    return load_split("test", data_dir)


@pytest.fixture(scope="session")
def trained_dir() -> Path:
    """The folder of the committed model.keras: the built-in MLP trained for 3 epochs with seed 42
    (tests/mlp_fixture.py; checked against its manifest). Read only."""
    from tests.mlp_fixture import checked_folder

    return checked_folder()


# The briefly trained CNN: one epoch on the first 2,000 training images, seed 42.
CNN_EPOCHS, CNN_LIMIT = 1, 2000


@pytest.fixture(scope="session")
def cnn_trained(shared_build: Callable[..., Path], data_dir: Path) -> Path:
    """The built-in CNN after ``train(arch="cnn", epochs=CNN_EPOCHS, limit=CNN_LIMIT)``: model.keras,
    history.json and learning_curves.png. test_train checks this training, test_benchmarks_cnn
    benchmarks its model: one training for both. Read only."""
    from train.training import train

    def build(out: Path) -> None:
        train(arch="cnn", data_dir=data_dir, epochs=CNN_EPOCHS, limit=CNN_LIMIT, seed=42, output=out, verbose=0)

    return shared_build("cnn-trained", build, key=(CNN_EPOCHS, CNN_LIMIT, 42, str(data_dir)))


@pytest.fixture(scope="session")
def exported_dir(shared_build: Callable[..., Path], trained_dir: Path, data_dir: Path) -> Path:
    """model.keras plus every artifact (`--format all --quantize all`) and the export report.

    Shared by every test (and every xdist worker): copy files out before changing them.
    """
    from export import run_export
    from export.validate import parse_threshold_overrides

    def build(out: Path) -> None:
        shutil.copy2(trained_dir / "model.keras", out / "model.keras")
        run_export(
            out / "model.keras", fmt="all", quantize="all", output_dir=out, data_dir=data_dir,
            thresholds=parse_threshold_overrides(FIXTURE_THRESHOLD_OVERRIDES),
        )

    from tests.mlp_fixture import sha256

    return shared_build("exported", build, key=(sha256(trained_dir / "model.keras"), FIXTURE_THRESHOLD_OVERRIDES))


@pytest.fixture(scope="session")
def keras_proba(shared_build: Callable[..., Path], exported_dir: Path, test_set) -> np.ndarray:
    """Keras's probabilities on the full test set (the reference every artifact must match)."""

    def build(out: Path) -> None:
        import keras

        from train.model import preprocess

        model = keras.saving.load_model(exported_dir / "model.keras", compile=False)
        np.save(out / "proba.npy", np.asarray(model.predict(preprocess(test_set[0]), batch_size=1000, verbose=0)))

    folder = shared_build("keras-proba", build, key=(exported_dir.name,))
    return np.load(folder / "proba.npy", allow_pickle=False)
