"""Multiply-accumulates per inference, counted from a .tflite graph (batch 1) by the C generator's IR."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

HINT = "reading .tflite graphs needs ai-edge-litert: pip install 'edgeport[runtime]'"


def count_macs(tflite_path: str | Path) -> int:
    """MACs of one inference, each op's own count (``export.csrc.ops``): FULLY_CONNECTED in*out,
    CONV_2D kh*kw*cin*cout*oh*ow, DEPTHWISE_CONV_2D kh*kw*c*oh*ow (c = output channels).
    Other ops count 0."""
    try:
        from export.csrc import count_macs as csrc_count_macs
        from export.errors import ConversionError
    except ImportError as e:
        raise UsageError(HINT) from e
    try:
        return csrc_count_macs(tflite_path)
    except ConversionError as e:
        raise UsageError(str(e)) from e
