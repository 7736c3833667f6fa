"""The formats export writes, declared once: name, modes, file suffix, I/O type and build function.

As Keras's ``src/export``: one module per format (``onnx.py``, ``litert.py``, ``csrc/``, ``tflm.py``),
dispatched from here only, the closed set of names checked first (``get_format``). Two kinds:

- converted (``onnx``, ``tflite``): made from the source model. ``build(Conversion)``
  (``export.convert``) writes the sealed file. ``--format all`` builds these.
- embedded (``c``, ``tflm``): generated from the validated ``.tflite`` of the same mode.
  ``build(tflite, folder, *, prefix, base_name, source_name) -> (source, header)`` writes both.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .convert import convert_onnx, convert_tflite
from .errors import UnsupportedFormatError
from .litert import TFLITE_MODES, tflite_io_dtype
from .onnx import ONNX_MODES


def _float_io(mode: str, requested: str) -> str:
    """Float input and output whatever the mode: ``--io-dtype`` does not apply."""
    return "float32"


def _generate_c(tflite: Path, folder: Path, **names) -> tuple[Path, Path]:
    from .csrc import export_c

    return export_c(tflite, folder, **names)


def _generate_tflm(tflite: Path, folder: Path, **names) -> tuple[Path, Path]:
    from .tflm import export_tflm

    return export_tflm(tflite, folder, **names)


@dataclass(frozen=True)
class Format:
    """One format: what it is called, the modes it takes, its file name and how it is built."""

    name: str
    modes: tuple[str, ...]
    suffix: str  # the artifact is model<suffix> (fp32) or model.<mode><suffix>
    io: Callable[[str, str], str]  # (mode, --io-dtype) -> the artifact's input/output type
    build: Callable[..., object]  # see the module docstring for the two kinds' signatures
    embedded: bool = False  # generated from the validated .tflite of the same mode
    # the .tflite and what is made from it: a .tflite source (taken as it is) can become it, and its
    # calibrated modes take --io-dtype
    tflite_family: bool = False

    def file_name(self, mode: str) -> str:
        """``model.onnx`` for fp32, ``model.int8.tflite``; ``model.int8.c``, ``model.int8.tflm.cc``."""
        return f"model{'' if mode == 'none' else '.' + mode}{self.suffix}"

    def base_name(self, mode: str) -> str:
        """The file name without its last extension: ``model.int8``, ``model.int8.tflm``."""
        return self.file_name(mode).rsplit(".", 1)[0]


REGISTRY: dict[str, Format] = {
    f.name: f
    for f in (
        Format("onnx", ONNX_MODES, ".onnx", _float_io, convert_onnx),
        Format("tflite", TFLITE_MODES, ".tflite", tflite_io_dtype, convert_tflite, tflite_family=True),
        # made from the .tflite of the same mode: its I/O type
        Format("c", ("none", "int8"), ".c", tflite_io_dtype, _generate_c, embedded=True, tflite_family=True),
        Format("tflm", ("none", "int8"), ".tflm.cc", tflite_io_dtype, _generate_tflm, embedded=True, tflite_family=True),
    )
}
FORMATS = tuple(n for n, f in REGISTRY.items() if not f.embedded)  # what --format all builds: the CPU formats
EMBEDDED_FORMATS = tuple(n for n, f in REGISTRY.items() if f.embedded)
AS_IS_FORMATS = tuple(n for n, f in REGISTRY.items() if f.tflite_family)  # what a .tflite source can become
FORMAT_CHOICES = (*REGISTRY, "all")
MODES = {n: REGISTRY[n].modes for n in FORMATS}
FORMAT_MODES = {n: f.modes for n, f in REGISTRY.items()}
ALL_MODES = tuple(dict.fromkeys(m for f in REGISTRY.values() for m in f.modes))


def get_format(name: str) -> Format:
    """The registered format ``name``; UnsupportedFormatError naming the closed set otherwise."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise UnsupportedFormatError(f"Unrecognized format={name!r}. Supported formats are: {list(REGISTRY)}")
    return REGISTRY[name]


def artifact_name(fmt: str, mode: str) -> str:
    """``model.onnx``/``model.tflite`` for fp32, ``model.<mode>.<ext>`` for variants;
    ``model.int8.c`` (and ``.h``), ``model.int8.tflm.cc`` (and ``.h``) for the embedded formats."""
    return get_format(fmt).file_name(mode)


def variant_io(fmt: str, mode: str, io_dtype: str) -> str:
    """The I/O type of the (``fmt``, ``mode``) variant for ``--io-dtype io_dtype``."""
    return get_format(fmt).io(mode, io_dtype)
