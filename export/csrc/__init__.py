"""C99 code generation from a validated .tflite (issue 8): ``export_c``, ``HostCModel``, ``validate_c``."""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path

from .errors import CCompileError, CPrefixError, UnsupportedOpError
from .ops import SHAPE_OPS, SUPPORTED_OPS

__all__ = ["export_c", "generate_c", "op_steps", "check_prefix", "HostCModel", "validate_c", "CPrefixError",
           "UnsupportedOpError", "CCompileError", "DEFAULT_PREFIX", "SUPPORTED_OPS", "SHAPE_OPS", "count_macs"]

logger = logging.getLogger(__name__)
DEFAULT_PREFIX = "edgeport_model"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
             "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
             "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
             "volatile", "while", "_Bool", "_Complex", "_Imaginary"}


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a usable C identifier, else raise CPrefixError."""
    if not isinstance(prefix, str) or not _IDENT.match(prefix) or prefix in _RESERVED or prefix.startswith("__"):
        raise CPrefixError(f"C prefix {prefix!r} is not a C identifier; expected letters, digits and '_', "
                           f"not starting with a digit, e.g. {DEFAULT_PREFIX!r}")
    return prefix


def _lowered(tflite_path: str | Path):
    from .lower import check_graph
    from .plan import lower_and_plan
    from .reader import read_graph
    from .simplify import drop_shape_ops, fuse_conv_maxpool

    graph = read_graph(tflite_path)
    check_graph(graph)
    program, layout = lower_and_plan(fuse_conv_maxpool(drop_shape_ops(graph)))
    return graph, program, layout


def generate_c(tflite_path: str | Path, *, prefix: str = DEFAULT_PREFIX, base_name: str = "model.int8",
               profile: bool = False) -> tuple[str, str]:
    """(C source, header) text for ``tflite_path``; raises ConversionError subclasses. ``profile``
    adds a call after every op for a measuring harness (``benchmarks.mcu.profile``), never shipped."""
    from .emit import c_header, c_source

    check_prefix(prefix)
    graph, program, layout = _lowered(tflite_path)
    names = _class_names(graph.metadata, program.output.size)
    source = Path(tflite_path).name
    return (c_source(program, layout, prefix, f"{base_name}.h", names, source, profile=profile),
            c_header(program, layout, prefix, source))


def op_steps(tflite_path: str | Path) -> list[dict]:
    """The C functions of the generated model in execution order: function name, op type, MACs
    and comment (what ``generate_c(..., profile=True)`` numbers 0, 1, ...)."""
    _, program, _ = _lowered(tflite_path)
    return [{"function": s.func, "op": s.op_kind, "macs": s.macs, "comment": s.comment} for s in program.steps]


def export_c(tflite_path: str | Path, out_dir: str | Path, *, prefix: str = DEFAULT_PREFIX,
             base_name: str = "model.int8") -> tuple[Path, Path]:
    """Write ``base_name``.c and .h into ``out_dir`` (temp files, then rename); return their paths."""
    c_text, h_text = generate_c(tflite_path, prefix=prefix, base_name=base_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = (out_dir / f"{base_name}.c", out_dir / f"{base_name}.h")
    temps = []
    try:
        for path, text in zip(paths, (c_text, h_text)):
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{path.name}.", suffix=".tmp")
            temps.append(tmp)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        # header first: a .c is never in place without the header it includes
        for path, tmp in sorted(zip(paths, temps), key=lambda p: p[0].suffix != ".h"):
            os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
            os.replace(tmp, path)
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return paths


def count_macs(tflite_path: str | Path) -> int:
    """Multiply-accumulates of one inference of ``tflite_path``: the sum of each op module's count."""
    from .ops import macs
    from .reader import read_graph

    graph = read_graph(tflite_path)
    return sum(macs(graph, op) for op in graph.ops)


def _class_names(metadata: dict[str, bytes], count: int) -> list[str]:
    from runtime.metadata import METADATA_KEY

    raw = metadata.get(METADATA_KEY)
    if raw:
        try:
            names = json.loads(raw).get("class_names")
        except (ValueError, AttributeError):
            names = None
        if isinstance(names, list) and len(names) == count and all(isinstance(n, str) for n in names):
            return names
        logger.warning("edgeport metadata has %s class names for %d outputs; using class_N",
                       len(names) if isinstance(names, list) else "no", count)
    return [f"class_{i}" for i in range(count)]


def __getattr__(name: str):
    # lazy: host.py / validate.py pull numpy, ctypes and tflite-micro only when used
    if name == "HostCModel":
        from .host import HostCModel
        return HostCModel
    if name == "validate_c":
        from .validate import validate_c
        return validate_c
    raise AttributeError(name)
