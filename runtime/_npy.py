"""Read a .npy file safely: no pickles, and the header is checked against the file size."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .errors import InvalidInputError

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """The array in ``path``; InvalidInputError naming the file if it is not a sound .npy."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a directory, expected a .npy file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        start = f.read(6)
        if start[:4] == _ZIP_MAGIC:
            raise InvalidInputError(
                f"{path}: is a .npz archive (several arrays), expected a .npy with one array "
                f"(save it with numpy.save)"
            )
        if start != _NPY_MAGIC:
            raise InvalidInputError(f"{path}: not a .npy file (it does not start with the NPY magic bytes)")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        except (ValueError, SyntaxError, EOFError) as e:
            raise InvalidInputError(f"{path}: corrupt .npy header ({e})") from e
        if dtype.hasobject:
            raise InvalidInputError(
                f"{path}: holds Python objects ({dtype}), which would need pickle: expected a "
                f"numeric array"
            )
        needed = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        available = size - f.tell()
        if needed != available:
            raise InvalidInputError(
                f"{path}: header says shape {shape} of {dtype} ({needed:,} bytes of data) but the "
                f"file holds {available:,} bytes: truncated or corrupt"
            )
        f.seek(0)
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InvalidInputError(f"{path}: unreadable .npy data ({e})") from e
