"""Fashion-MNIST loading: strict IDX (gzip) parsing with a keras.datasets fallback.

Folder resolution order: the explicit ``data_dir`` argument, then the
``FASHION_MNIST_DIR`` environment variable, then
``keras.datasets.fashion_mnist.load_data()`` (download and cache).
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.cli import one_line
from train.errors import DataError  # noqa: F401  (raised here; importable from train.data too)

ENV_VAR = "FASHION_MNIST_DIR"
SPLITS = ("train", "test")
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
IMAGE_SIDE = 28
NUM_LABELS = 10
VALIDATION_SIZE = 5000

# The data set's own class names (a fact of the data, read by export's data sources).
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
EXPECTED_COUNTS = {"train": 60000, "test": 10000}
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass(frozen=True, eq=False)
class FashionMNIST:
    """Raw uint8 Fashion-MNIST: 55k train, 5k validation (front of train), 10k test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """Return the data folder to read, or None to use the keras download fallback.

    An explicit ``data_dir`` wins over ``$FASHION_MNIST_DIR`` (an empty value
    counts as unset). Raises DataError if the chosen path is not a directory.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(ENV_VAR) or None
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(
            f"{path}: data directory not found: expected a folder holding {FILES['train'][0]} etc."
        )
    return path


def _read_gz(path: Path) -> bytes:
    """Decompress a whole gzip file, mapping every failure to a DataError."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError as e:
        raise DataError(f"{path}: file not found: expected the Fashion-MNIST file {path.name}") from e
    except EOFError as e:
        raise DataError(
            f"{path}: truncated gzip stream: expected a complete gzip file, got {one_line(e)}"
        ) from e
    except gzip.BadGzipFile as e:
        raise DataError(f"{path}: not a valid gzip file: {one_line(e)}") from e
    except zlib.error as e:
        raise DataError(f"{path}: corrupt gzip data: {one_line(e)}") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read file: {one_line(e.strerror or e)}") from e


def _parse_idx(path: Path, magic: int, dims: tuple[int, ...], count: int) -> np.ndarray:
    """Parse an IDX uint8 file whose header must be ``magic, count, *dims``."""
    raw = _read_gz(path)
    header_len = 4 * (2 + len(dims))
    if len(raw) < header_len:
        raise DataError(f"{path}: truncated header: expected {header_len} bytes, got {len(raw)}")
    header = np.frombuffer(raw, dtype=">u4", count=2 + len(dims))
    got_magic, got_count, *got_dims = (int(v) for v in header)
    if got_magic != magic:
        raise DataError(f"{path}: bad magic number: expected {magic}, got {got_magic}")
    if got_count != count:
        raise DataError(f"{path}: wrong item count in header: expected {count}, got {got_count}")
    if tuple(got_dims) != dims:
        raise DataError(f"{path}: wrong item shape in header: expected {dims}, got {tuple(got_dims)}")
    payload = len(raw) - header_len
    claimed = count * int(np.prod(dims, dtype=np.int64))
    if payload != claimed:
        kind = "truncated payload" if payload < claimed else "trailing data after payload"
        raise DataError(f"{path}: {kind}: header claims {claimed} bytes, got {payload}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape((count, *dims))


def _check_arrays(images: np.ndarray, labels: np.ndarray, split: str, source: str) -> None:
    """Check shapes, dtypes, counts and the label range of one split."""
    count = EXPECTED_COUNTS[split]
    shape = (count, IMAGE_SIDE, IMAGE_SIDE)
    if images.dtype != np.uint8 or images.shape != shape:
        raise DataError(
            f"{source}: images: expected uint8 {shape}, got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.shape != (count,):
        raise DataError(
            f"{source}: labels: expected uint8 ({count},), got {labels.dtype} {labels.shape}"
        )
    if labels.size and int(labels.max()) >= NUM_LABELS:
        raise DataError(
            f"{source}: labels: expected values in 0..{NUM_LABELS - 1}, got max {int(labels.max())}"
        )


def _load_keras() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load both splits through keras.datasets (downloads on first use)."""
    import keras  # lazy: only this fallback needs it

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as e:  # keras.utils.get_file raises a plain Exception on network errors
        raise DataError(
            f"keras.datasets.fashion_mnist: download failed ({one_line(e)}); "
            f"pass a data directory or set {ENV_VAR}"
        ) from e
    return {"train": (x_train, y_train), "test": (x_test, y_test)}


def load_split(
    split: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return raw ``(images uint8 (N, 28, 28), labels uint8 (N,))`` of "train" or "test"."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    folder = resolve_data_dir(data_dir)
    if folder is None:
        images, labels = _load_keras()[split]
        _check_arrays(images, labels, split, "keras.datasets.fashion_mnist")
        return images, labels
    image_path, label_path = (folder / name for name in FILES[split])
    count = EXPECTED_COUNTS[split]
    images = _parse_idx(image_path, IMAGE_MAGIC, (IMAGE_SIDE, IMAGE_SIDE), count)
    labels = _parse_idx(label_path, LABEL_MAGIC, (), count)
    _check_arrays(images, labels, split, str(label_path))
    return images, labels


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None) -> FashionMNIST:
    """Load all of Fashion-MNIST; the first 5,000 training images become the validation set."""
    folder = resolve_data_dir(data_dir)
    if folder is None:
        splits = _load_keras()
        for split, (images, labels) in splits.items():
            _check_arrays(images, labels, split, "keras.datasets.fashion_mnist")
        (x_full, y_full), (x_test, y_test) = splits["train"], splits["test"]
    else:
        x_full, y_full = load_split("train", folder)
        x_test, y_test = load_split("test", folder)
    return FashionMNIST(
        x_train=x_full[VALIDATION_SIZE:],
        y_train=y_full[VALIDATION_SIZE:],
        x_valid=x_full[:VALIDATION_SIZE],
        y_valid=y_full[:VALIDATION_SIZE],
        x_test=x_test,
        y_test=y_test,
    )
