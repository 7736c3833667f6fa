"""Image files -> the array a model takes (Pillow, imported only when an image is read).

The model's metadata decides the conversion: an input of shape (H, W) or (H, W, 1) takes
grayscale (Pillow mode "L"), (H, W, 3) takes RGB. Pixels stay uint8 (raw 0..255): the Model
scales them by the metadata's pixel scale, exactly as for a .npy of raw pixels.

Refused with InvalidInputError: animated or multi-page images (which frame would be meant?) and
decompression bombs (over Pillow's MAX_IMAGE_PIXELS). High bit depths are rescaled, never
clipped: 16-bit grayscale (PNG, PGM, TIFF) as round(v / 257), float images in 0..1 as
round(v * 255); what has no known range (32-bit integer TIFF, floats outside 0..1) is refused.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BackendUnavailableError, InvalidInputError
from .files import IS_DIRECTORY, NOT_FOUND, file_problem

_HINT = "reading image files needs Pillow: pip install 'edgeport[images]' (or pip install Pillow)"


def _import_pil() -> Any:
    try:
        from PIL import Image, ImageOps
    except ImportError as e:
        raise BackendUnavailableError(_HINT) from e
    return Image, ImageOps


def image_layout(input_shape: Sequence[int]) -> tuple[str, int, int]:
    """(Pillow mode, height, width) of the images a model with this input shape takes."""
    shape = tuple(input_shape)
    if len(shape) == 2 or (len(shape) == 3 and shape[2] == 1):
        return "L", shape[0], shape[1]
    if len(shape) == 3 and shape[2] == 3:
        return "RGB", shape[0], shape[1]
    raise InvalidInputError(
        f"the model's input shape {shape} is not an image: expected (H, W), (H, W, 1) "
        f"(grayscale) or (H, W, 3) (RGB)"
    )


def image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The files to read: each path as given, and a folder as all its images, sorted by name."""
    files: list[Path] = []
    for p in map(Path, paths):
        problem = file_problem(p)
        if problem == IS_DIRECTORY:
            Image, _ = _import_pil()
            suffixes = {s.lower() for s in Image.registered_extensions()}
            found = sorted(
                f for f in p.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in suffixes
            )
            if not found:
                raise InvalidInputError(f"{p}: folder holds no image files")
            files.extend(found)
        elif problem is None:
            files.append(p)
        elif problem == NOT_FOUND:
            raise FileNotFoundError(f"{p}: input file not found")
        else:
            raise InvalidInputError(f"{p}: {problem}: expected an image file, a folder or a .npy file")
    return files


def read_image(
    path: str | os.PathLike, mode: str, size: tuple[int, int], *, resize: bool = False, invert: bool = False
) -> np.ndarray:
    """One image file as uint8 (H, W) for mode "L" or (H, W, 3) for "RGB"; ``size`` is (W, H)."""
    Image, ImageOps = _import_pil()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InvalidInputError(
            f"{path}: refused as a possible decompression bomb ({_first_line(e)}); "
            f"a model input needs far fewer pixels"
        ) from e
    except OSError as e:  # unreadable, unknown format (Pillow raises OSError subclasses)
        raise InvalidInputError(f"{path}: not a readable image ({_first_line(e)})") from e
    try:
        with img:
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                raise InvalidInputError(
                    f"{path}: {img.format} image with {frames} frames (animated or multi-page): expected "
                    f"one still image; save the frame you want, e.g. as PNG"
                )
            img.load()  # decode now: truncated or corrupt data fails here
            file_format = img.format
            img = ImageOps.exif_transpose(img)  # camera photos: upright as displayed
            img = _to_8_bits(img, file_format, path, Image)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                # transparent pixels become the model's background: black (or white if inverted)
                background = Image.new("RGBA", img.size, (255, 255, 255, 255) if invert else (0, 0, 0, 255))
                img = Image.alpha_composite(background, img.convert("RGBA"))
            img = img.convert(mode)
    except InvalidInputError:
        raise
    except OSError as e:  # unreadable, unknown format, truncated (Pillow raises OSError subclasses)
        raise InvalidInputError(f"{path}: not a readable image ({_first_line(e)})") from e
    except Exception as e:  # corrupt data: Pillow's decoders raise many types (SyntaxError, ...)
        raise InvalidInputError(f"{path}: corrupt image ({type(e).__name__}: {_first_line(e)})") from e
    if img.size != size:
        if not resize:
            raise InvalidInputError(
                f"{path}: image is {img.size[0]}x{img.size[1]} pixels, the model takes "
                f"{size[0]}x{size[1]} (width x height); resize it, or pass --resize "
                f"(resize=True) to scale it"
            )
        img = img.resize(size, Image.Resampling.LANCZOS)
    pixels = np.asarray(img, dtype=np.uint8)
    return 255 - pixels if invert else pixels


def load_images(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    model: Any,
    *,
    resize: bool = False,
    invert: bool = False,
) -> np.ndarray:
    """Read image files and folders into the uint8 array ``model`` takes, (N, *input_shape).

    ``model`` is a ``runtime.Model`` (or its ``ModelMetadata``). Folders contribute all their
    images sorted by file name. ``resize`` scales images of another size to the model's (the
    aspect ratio is not kept); otherwise another size is an ``InvalidInputError`` naming both.
    ``invert`` maps each pixel p to 255 - p: for photos of dark objects on a light background
    fed to a model trained on light objects on black, such as Fashion-MNIST.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    metadata = getattr(model, "metadata", model)
    shape = tuple(metadata.input_shape)
    mode, height, width = image_layout(shape)
    files = image_files(paths)
    out = np.empty((len(files), *shape), dtype=np.uint8)
    for i, f in enumerate(files):
        out[i] = read_image(f, mode, (width, height), resize=resize, invert=invert).reshape(shape)
    return out


_UINT16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
# Pillow reads 16-bit PNG and PGM (rescaled from their maxval) as 32-bit "I" holding 0..65535
_UINT16_AS_I_FORMATS = ("PNG", "PPM")


def _to_8_bits(img: Any, file_format: str | None, path: str | os.PathLike, Image: Any) -> Any:
    """``img`` as an 8-bit "L" image if it is 16-bit or float grayscale; other modes unchanged.

    Pillow's own ``convert("L")`` clips these (every 16-bit value above 255 becomes white).
    """
    if img.mode not in (*_UINT16_MODES, "I", "F"):
        return img
    values = np.asarray(img)
    if img.mode == "F":
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(values).all() and low >= 0.0 and high <= 1.0):
            raise InvalidInputError(
                f"{path}: float image with values in [{low:g}, {high:g}]: expected floats in 0..1 "
                f"(or save it with 8 or 16 bits per channel)"
            )
        scaled = np.rint(values.astype(np.float64) * 255.0)
    else:
        if img.mode == "I" and file_format not in _UINT16_AS_I_FORMATS:
            raise InvalidInputError(
                f"{path}: 32-bit integer pixels ({file_format} mode I) have no known white level: "
                f"expected 8- or 16-bit images"
            )
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise InvalidInputError(f"{path}: pixel values outside 0..65535 in a 16-bit image")
        scaled = np.rint(values.astype(np.float64) / 257.0)  # 65535 -> 255 exactly; p * 257 -> p
    return Image.fromarray(scaled.astype(np.uint8))


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
