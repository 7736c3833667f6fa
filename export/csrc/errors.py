"""Typed errors of the C code generator."""
from __future__ import annotations

from ..errors import ConversionError, ExportError

TFLM_HINT = "use --format tflm (TFLite Micro) for models with other ops"


class UnsupportedOpError(ConversionError):
    """The .tflite uses an op, or a tensor type, the C generator cannot emit."""

    def __init__(self, op: str, detail: str = "") -> None:
        self.op = op
        text = f"op {op} is not supported by --format c"
        if detail:
            text += f" ({detail})"
        super().__init__(f"{text}; {TFLM_HINT}")


class CPrefixError(ExportError):
    """The C prefix is not a valid C identifier."""


class CCompileError(ConversionError):
    """The host C compiler rejected generated code, or is missing."""
