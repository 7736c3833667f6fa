"""Which (format, mode) artifacts an export builds: ``--format`` and ``--quantize`` checked against
the closed sets, and against what the source can become.

A converted source (Keras, SavedModel) can become every format in every mode. A ``.tflite`` is
taken as it is: its mode is its own, and it becomes ``tflite`` (a sealed copy), ``c`` or ``tflm``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import UnsupportedFormatError, UsageError
from .formats import (  # noqa: F401  (re-exported: existing imports keep working)
    ALL_MODES, AS_IS_FORMATS, FORMAT_CHOICES, FORMAT_MODES, FORMATS, MODES,
)
from .litert import CALIBRATED_MODES

logger = logging.getLogger("export.pipeline")

# --quantize's default: "none" for a model edgeport converts, a .tflite's own mode
AUTO_MODE = "auto"


@dataclass(frozen=True)
class ExportPlan:
    """Which (format, mode) artifacts to build; ``as_is``: from a .tflite taken as it is."""

    variants: tuple[tuple[str, str], ...]
    as_is: bool = False

    @classmethod
    def parse(cls, fmt: str, quantize: str = AUTO_MODE, *, source_mode: str | None = None,
              source_name: str = "the model") -> "ExportPlan":
        """Check the comma-separated ``fmt`` and ``quantize`` lists against the closed sets
        (``quantize`` ``auto``: the default). With several formats (or ``all``), a mode one format
        lacks is skipped for it. ``source_mode``: the mode of a .tflite source, the only one it has."""
        names = [f.strip() for f in fmt.split(",") if f.strip()] if isinstance(fmt, str) else [fmt]
        for name in names or [fmt]:
            if name not in FORMAT_CHOICES:
                raise UnsupportedFormatError(
                    f"Unrecognized format={name!r}. Supported formats are: {list(FORMAT_CHOICES)} "
                    f"(or a comma-separated list)"
                )
        several = len(names) > 1 or "all" in names
        formats = tuple(dict.fromkeys(f for name in names for f in (FORMATS if name == "all" else (name,))))
        if not isinstance(quantize, str):
            raise UsageError(f"quantize must be a string such as 'none' or 'int8,dynamic', got {quantize!r}")
        requested = [m.strip() for m in quantize.split(",") if m.strip()]
        if requested == [AUTO_MODE]:
            requested = []
        for mode in requested:
            if mode != "all" and mode not in ALL_MODES:
                raise UnsupportedFormatError(
                    f"Unrecognized quantize={mode!r}. Supported modes are: {[*ALL_MODES, 'all']}"
                )
        if source_mode is not None:
            return cls._as_is(names, requested, source_mode, source_name)
        requested = requested or ["none"]
        variants = []
        for f in formats:
            for mode in FORMAT_MODES[f]:
                if "all" in requested or mode in requested:
                    variants.append((f, mode))
            unsupported = [m for m in requested if m != "all" and m not in FORMAT_MODES[f]]
            if unsupported and not several:
                raise UnsupportedFormatError(
                    f"format={f!r} does not support quantize={unsupported[0]!r}. "
                    f"Supported modes for {f} are: {list(FORMAT_MODES[f])}"
                )
            if unsupported:
                logger.info("skipping %s for %s: not supported by that format", unsupported, f)
        built = {m for _, m in variants}
        missing = [m for m in requested if m != "all" and m not in built]
        if missing:
            raise UnsupportedFormatError(f"quantize={missing[0]!r} is supported by none of the formats {list(formats)}")
        return cls(tuple(variants))

    @classmethod
    def _as_is(cls, names: list[str], requested: list[str], mode: str, name: str) -> "ExportPlan":
        """The variants a .tflite source gives: its own mode, in tflite, c or tflm."""
        other = [m for m in requested if m not in ("all", mode)]
        if other:
            raise UsageError(
                f"--quantize {other[0]}: {name} is already {mode} (a .tflite is taken as it is): edgeport "
                f"quantizes only from the float model (.keras, .h5 or SavedModel), where the converter sees "
                f"the whole graph; omit --quantize to use the file's own mode"
            )
        if "all" in names:
            logger.info("a .tflite becomes %s: building tflite (ONNX needs the float model)", "/".join(AS_IS_FORMATS))
        formats = tuple(dict.fromkeys("tflite" if f == "all" else f for f in names))
        for fmt in formats:
            if fmt not in AS_IS_FORMATS:
                raise UnsupportedFormatError(
                    f"format={fmt!r}: a .tflite ({name}) becomes {', '.join(AS_IS_FORMATS)}; {fmt} needs the "
                    f"float model (.keras, .h5 or SavedModel)"
                )
            if mode not in FORMAT_MODES[fmt]:
                raise UnsupportedFormatError(
                    f"format={fmt!r} takes {' or '.join(FORMAT_MODES[fmt])} models; {name} is {mode}"
                )
        return cls(tuple((fmt, mode) for fmt in formats), as_is=True)

    @property
    def needs_calibration(self) -> bool:
        return not self.as_is and any(mode in CALIBRATED_MODES for _, mode in self.variants)
