"""Where validation and calibration data come from: one small interface, three sources.

- ``--data PATH.npz``: the user's own arrays (``x_test``; optional ``y_test``,
  ``x_calibration``, ``x_train``, ``class_names``), read without pickles;
- ``--data-dir DIR`` or ``$FASHION_MNIST_DIR``: Fashion-MNIST from its IDX files;
- neither: no data. Conversion is then checked on random inputs from the input
  domain, and nothing is ever downloaded.

Export and benchmarks both read data through :func:`resolve`. This module needs only
numpy (no TensorFlow).
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from runtime.files import NOT_FOUND, file_problem

from .errors import DataError

FASHION_MNIST_ENV = "FASHION_MNIST_DIR"
NPZ_KEYS = ("x_test", "y_test", "x_calibration", "x_train", "class_names")
RANDOM_SAMPLES = 256


@dataclass(frozen=True, eq=False)
class Dataset:
    """Test inputs (and optionally labels, a calibration pool and class names) of one source."""

    source: str
    x_test: np.ndarray
    y_test: np.ndarray | None = None
    calibration_pool: np.ndarray | None = None
    calibration_key: str | None = None  # "x_calibration" or "x_train": where the pool came from
    class_names: tuple[str, ...] | None = None
    synthetic: bool = False
    implicit: bool = False  # found through $FASHION_MNIST_DIR, not asked for: used only if it fits the model

    @property
    def raw_pixels(self) -> bool:
        """uint8 data means raw pixels, which the model sees scaled by the pixel scale."""
        return self.x_test.dtype == np.uint8

    def calibration(self, n: int, seed: int) -> np.ndarray | None:
        """``n`` samples of the calibration pool, drawn without replacement with ``seed``."""
        if self.calibration_pool is None:
            return None
        return draw(self.calibration_pool, n, seed)


def draw(pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``min(n, len(pool))`` rows of ``pool`` drawn with ``seed``, in their original order."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return pool[np.sort(idx)]


def resolve(
    data: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None
) -> Dataset | None:
    """The user's ``.npz``, else Fashion-MNIST from ``data_dir`` or ``$FASHION_MNIST_DIR``, else None."""
    if data is not None and str(data) != "":
        if data_dir:
            raise DataError("--data and --data-dir are exclusive: give one data source")
        return load_npz(data)
    if data_dir:
        return load_fashion_mnist(data_dir)
    folder = os.environ.get(FASHION_MNIST_ENV) or None
    return None if folder is None else replace(load_fashion_mnist(folder), implicit=True)


def load_fashion_mnist(folder: str | os.PathLike) -> Dataset:
    """Fashion-MNIST from its four IDX files: 55k training images (the calibration pool), 10k test."""
    from train.data import CLASS_NAMES, DataError as IdxError, load_fashion_mnist as load_idx

    path = Path(folder).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: Fashion-MNIST folder not found (from --data-dir or ${FASHION_MNIST_ENV})")
    try:
        fm = load_idx(path)
    except IdxError as e:
        raise DataError(str(e)) from e
    return Dataset(
        source=f"fashion-mnist ({path})",
        x_test=fm.x_test,
        y_test=fm.y_test,
        calibration_pool=fm.x_train,
        calibration_key="x_train",
        class_names=tuple(CLASS_NAMES),
    )


def load_npz(path: str | os.PathLike) -> Dataset:
    """Read a user's ``.npz``; refuse pickled (object) arrays and a missing ``x_test``."""
    path = Path(path).expanduser()
    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise DataError(f"{path}: data file not found")
    if problem is not None:
        raise DataError(f"{path}: {problem}: expected an .npz file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an .npz archive (expected arrays saved with numpy.savez)")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                if key in NPZ_KEYS:
                    arrays[key] = npz[key]
    except ValueError as e:  # object arrays need pickles, which are never allowed
        raise DataError(f"{path}: holds an object array, which edgeport never unpickles ({_one_line(e)})") from e
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: unreadable .npz ({_one_line(e)})") from e
    if "x_test" not in arrays:
        raise DataError(f"{path}: has no 'x_test' array (keys: {sorted(arrays) or 'none'}); expected {list(NPZ_KEYS)}")
    for key, arr in arrays.items():
        if key != "class_names" and arr.dtype.kind not in "fiub":
            raise DataError(f"{path}: '{key}' has dtype {arr.dtype}: expected numbers")
        if key != "class_names" and arr.ndim == 0:
            raise DataError(f"{path}: '{key}' is a scalar: expected one row per sample")
    pool_key = "x_calibration" if "x_calibration" in arrays else "x_train" if "x_train" in arrays else None
    for key in ("x_test", "y_test", pool_key):
        if key is not None and key in arrays:
            _check_finite(arrays[key], key, path)
    x_test = arrays["x_test"]
    if len(x_test) == 0:
        raise DataError(f"{path}: 'x_test' is empty")
    y_test = arrays.get("y_test")
    if y_test is not None and len(y_test) != len(x_test):
        raise DataError(f"{path}: 'y_test' has {len(y_test)} rows, 'x_test' has {len(x_test)}")
    pool = arrays.get(pool_key) if pool_key else None
    if pool is not None and (pool.dtype == np.uint8) != (x_test.dtype == np.uint8):
        raise DataError(f"{path}: '{pool_key}' is {pool.dtype} but 'x_test' is {x_test.dtype}: use one kind")
    names = arrays.get("class_names")
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "US"):
        raise DataError(f"{path}: 'class_names' must be a 1-D string array, got {names.dtype} {names.shape}")
    return Dataset(
        source=str(path),
        x_test=x_test,
        y_test=y_test,
        calibration_pool=pool,
        calibration_key=pool_key,
        class_names=None if names is None else check_class_names(names.tolist(), f"{path}: 'class_names'"),
    )


def _check_finite(arr: np.ndarray, key: str, path: Path) -> None:
    """DataError naming ``key`` and ``path`` if the float array ``arr`` holds NaN or Inf."""
    if arr.dtype.kind != "f":
        return
    finite = np.isfinite(arr)
    if finite.all():
        return
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(arr.size - finite.sum()) - n_nan
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise DataError(
        f"{path}: '{key}' holds {n_nan} NaN and {n_inf} Inf values (first at index {first}): expected finite numbers"
    )


def as_float_features(dataset: Dataset) -> Dataset:
    """``dataset`` for a float model: integer (other than uint8 pixels) and boolean arrays as float32 features.

    (A .tflite source keeps them: integers of its input type are its own quantized codes.)
    """
    def floats(x: np.ndarray | None) -> np.ndarray | None:
        if x is not None and (x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype != np.uint8)):
            return x.astype(np.float32)
        return x

    return replace(dataset, x_test=floats(dataset.x_test), calibration_pool=floats(dataset.calibration_pool))


def random_inputs(item_shape: tuple[int, ...], pixels: bool, seed: int, n: int = RANDOM_SAMPLES) -> Dataset:
    """``n`` random samples of the input domain: uint8 pixels, or standard-normal features."""
    rng = np.random.default_rng(seed)
    if pixels:
        x = rng.integers(0, 256, size=(n, *item_shape), dtype=np.uint8)
    else:
        x = rng.standard_normal(size=(n, *item_shape)).astype(np.float32)
    return Dataset(source=f"random ({n} inputs)", x_test=x, synthetic=True)


def contract_inputs(model, n: int, seed: int) -> tuple[np.ndarray, str]:
    """``n`` random inputs from the domain of a loaded ``runtime.Model``'s input, and what they are:
    raw uint8 pixels for a pixel model; every code of an integer input that takes its own codes,
    uniformly; standard-normal float32 features otherwise."""
    rng = np.random.default_rng(seed)
    meta = model.metadata
    shape = (n, *meta.input_shape)
    dtype = np.dtype(model.input_details["dtype"])
    if meta.takes_pixels:
        return rng.integers(0, 256, size=shape, dtype=np.uint8), "uint8 pixels"
    if meta.takes_raw_input and dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True), f"{dtype} codes"
    return rng.standard_normal(size=shape).astype(np.float32), "standard-normal floats"


def read_class_names(path: str | os.PathLike) -> tuple[str, ...]:
    """One class name per line (blank lines at the end ignored)."""
    path = Path(path)
    problem = file_problem(path)
    if problem is not None:
        raise DataError(f"{path}: cannot read class names ({problem}): expected a text file, one name per line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read class names ({_one_line(e)})") from e
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: expected one non-empty class name per line, found none")
    return check_class_names([line.strip() for line in lines], f"{path} (one name per line)")


def given_class_names(given: Sequence[object] | str | os.PathLike) -> tuple[str, ...]:
    """Class names given by the user: a file of one name per line, or a sequence; checked alike."""
    if isinstance(given, (str, os.PathLike)):
        return read_class_names(given)
    return check_class_names(given, "class_names")


def check_class_names(names: Sequence[object], where: str) -> tuple[str, ...]:
    """``names`` as strings; DataError naming ``where`` and the index of an empty (or blank) name.

    The one rule for every source (.npz, --class-names FILE, a list given to run_export).
    """
    names = tuple(str(n) for n in names)
    for i, name in enumerate(names):
        if not name.strip():
            raise DataError(f"{where}: class name {i} is {name!r}: expected one non-empty name per class")
    return names


def fits(x: np.ndarray, item_shape: tuple[int, ...]) -> bool:
    """True if ``conform`` takes ``x`` for a model of ``item_shape``."""
    return x.shape[1:] == tuple(item_shape) or [d for d in x.shape[1:] if d != 1] == [d for d in item_shape if d != 1]


def conform(x: np.ndarray, item_shape: tuple[int, ...], what: str) -> np.ndarray:
    """``x`` reshaped to (N, *item_shape) when it differs only by size-1 axes; else DataError."""
    if x.shape[1:] == tuple(item_shape):
        return x
    if [d for d in x.shape[1:] if d != 1] == [d for d in item_shape if d != 1]:
        return x.reshape((len(x), *item_shape))
    raise DataError(
        f"{what} has shape {x.shape}: the model takes (N, {', '.join(map(str, item_shape))})"
    )


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
