"""Which (format, mode) artifacts an export builds: ``--format`` and ``--quantize`` checked against
the closed sets, and against what the source can become.

A converted source (Keras, SavedModel) can become every format in every mode. A ``.tflite`` is
taken as it is: its mode is its own, and it becomes ``tflite`` (a sealed copy), ``c`` or ``tflm``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .embedded import EMBEDDED_FORMATS, EMBEDDED_MODES
from .errors import UnsupportedFormatError, UsageError
from .litert import CALIBRATED_MODES, TFLITE_MODES
from .onnx import ONNX_MODES

logger = logging.getLogger("export.pipeline")

FORMATS = ("onnx", "tflite")  # what --format all builds: the CPU formats
FORMAT_CHOICES = (*FORMATS, *EMBEDDED_FORMATS, "all")
MODES = {"onnx": ONNX_MODES, "tflite": TFLITE_MODES}
FORMAT_MODES = {**MODES, **EMBEDDED_MODES}
ALL_MODES = tuple(dict.fromkeys(m for modes in FORMAT_MODES.values() for m in modes))
AS_IS_FORMATS = ("tflite", *EMBEDDED_FORMATS)  # what a .tflite source can become


@dataclass(frozen=True)
class ExportPlan:
    """Which (format, mode) artifacts to build; ``as_is``: from a .tflite taken as it is."""

    variants: tuple[tuple[str, str], ...]
    as_is: bool = False

    @classmethod
    def parse(cls, fmt: str, quantize: str | None = "none", *, source_mode: str | None = None,
              source_name: str = "the model") -> "ExportPlan":
        """Check ``fmt`` and the comma-separated ``quantize`` list (None: the default) against the
        closed sets. ``source_mode``: the mode of a .tflite source, which is the only one it has."""
        if not isinstance(fmt, str) or fmt not in FORMAT_CHOICES:
            raise UnsupportedFormatError(
                f"Unrecognized format={fmt!r}. Supported formats are: {list(FORMAT_CHOICES)}"
            )
        if quantize is not None and not isinstance(quantize, str):
            raise UsageError(f"quantize must be a string such as 'none' or 'int8,dynamic', got {quantize!r}")
        requested = [m.strip() for m in (quantize or "").split(",") if m.strip()]
        for mode in requested:
            if mode != "all" and mode not in ALL_MODES:
                raise UnsupportedFormatError(
                    f"Unrecognized quantize={mode!r}. Supported modes are: {[*ALL_MODES, 'all']}"
                )
        if source_mode is not None:
            return cls._as_is(fmt, requested, source_mode, source_name)
        requested = requested or ["none"]
        formats = FORMATS if fmt == "all" else (fmt,)
        variants = []
        for f in formats:
            for mode in FORMAT_MODES[f]:
                if "all" in requested or mode in requested:
                    variants.append((f, mode))
            unsupported = [m for m in requested if m != "all" and m not in FORMAT_MODES[f]]
            if unsupported and fmt != "all":
                raise UnsupportedFormatError(
                    f"format={f!r} does not support quantize={unsupported[0]!r}. "
                    f"Supported modes for {f} are: {list(FORMAT_MODES[f])}"
                )
            if unsupported:
                logger.info("skipping %s for %s: not supported by that format", unsupported, f)
        return cls(tuple(variants))

    @classmethod
    def _as_is(cls, fmt: str, requested: list[str], mode: str, name: str) -> "ExportPlan":
        """The one variant a .tflite source gives: its own mode, in tflite, c or tflm."""
        other = [m for m in requested if m not in ("all", mode)]
        if other:
            raise UsageError(
                f"--quantize {other[0]}: {name} is already {mode} (a .tflite is taken as it is): edgeport quantizes only "
                f"from the float model (.keras, .h5 or SavedModel), where the converter sees the whole graph; "
                f"omit --quantize to use the file's own mode"
            )
        if fmt == "all":
            logger.info("a .tflite becomes %s: building tflite (ONNX needs the float model)", "/".join(AS_IS_FORMATS))
            fmt = "tflite"
        if fmt not in AS_IS_FORMATS:
            raise UnsupportedFormatError(
                f"format={fmt!r}: a .tflite ({name}) becomes {', '.join(AS_IS_FORMATS)}; {fmt} needs the "
                f"float model (.keras, .h5 or SavedModel)"
            )
        if mode not in FORMAT_MODES[fmt]:
            raise UnsupportedFormatError(
                f"format={fmt!r} takes {' or '.join(FORMAT_MODES[fmt])} models; {name} is {mode}"
            )
        return cls(((fmt, mode),), as_is=True)

    @property
    def needs_calibration(self) -> bool:
        return not self.as_is and any(mode in CALIBRATED_MODES for _, mode in self.variants)
