"""C99 code generation from a validated .tflite (issue 8): ``export_c``, ``HostCModel``, ``validate_c``."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from runtime.files import write_files_atomic

from .errors import CCompileError, CPrefixError, UnsupportedOpError
from .names import DEFAULT_PREFIX, check_prefix
from .ops import SHAPE_OPS, SUPPORTED_OPS

__all__ = ["export_c", "generate_c", "op_steps", "check_prefix", "HostCModel", "validate_c", "CPrefixError",
           "UnsupportedOpError", "CCompileError", "DEFAULT_PREFIX", "SUPPORTED_OPS", "SHAPE_OPS", "count_macs"]

logger = logging.getLogger(__name__)


def _lowered(tflite_path: str | Path):
    from .lower import check_graph
    from .plan import lower_and_plan
    from .reader import read_graph
    from .simplify import simplify

    graph = read_graph(tflite_path)
    check_graph(graph)
    program, layout = lower_and_plan(simplify(graph))
    return graph, program, layout


def generate_c(tflite_path: str | Path, *, prefix: str = DEFAULT_PREFIX, base_name: str = "model.int8",
               source_name: str | None = None, profile: bool = False) -> tuple[str, str]:
    """(C source, header) text for ``tflite_path``; raises ConversionError subclasses.

    ``source_name`` is the file the comments name as the source (default: the file's own name):
    pass the installed artifact's name when ``tflite_path`` is a temporary file, so the same
    inputs give the same bytes. ``profile`` adds a call after every op for a measuring harness
    (``benchmarks.mcu.profile``); shipped code never has it.
    """
    from .emit import c_header, c_source

    check_prefix(prefix)
    graph, program, layout = _lowered(tflite_path)
    task, names = _class_names(graph.metadata, program.output.size)
    source = source_name or Path(tflite_path).name
    return (c_source(program, layout, prefix, f"{base_name}.h", names, source, profile=profile),
            c_header(program, layout, prefix, source, task, len(names)))


def op_steps(tflite_path: str | Path) -> list[dict]:
    """The C functions of the generated model in execution order: function name, op type, MACs
    and comment (what ``generate_c(..., profile=True)`` numbers 0, 1, ...)."""
    _, program, _ = _lowered(tflite_path)
    return [{"function": s.func, "op": s.op_kind, "macs": s.macs, "comment": s.comment} for s in program.steps]


def export_c(tflite_path: str | Path, out_dir: str | Path, *, prefix: str = DEFAULT_PREFIX,
             base_name: str = "model.int8", source_name: str | None = None) -> tuple[Path, Path]:
    """Write ``base_name``.c and .h into ``out_dir`` (temp files, then rename); return their paths.

    ``source_name``: see ``generate_c``."""
    c_text, h_text = generate_c(tflite_path, prefix=prefix, base_name=base_name, source_name=source_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = (out_dir / f"{base_name}.c", out_dir / f"{base_name}.h")
    # header first: a .c is never in place without the header it includes
    write_files_atomic([(paths[1], h_text.encode("ascii")), (paths[0], c_text.encode("ascii"))])
    return paths


def count_macs(tflite_path: str | Path) -> int:
    """Multiply-accumulates of one inference of ``tflite_path``: the sum of each op module's count."""
    from .ops import macs
    from .reader import read_graph

    graph = read_graph(tflite_path)
    return sum(macs(graph, op) for op in graph.ops)


def _class_names(metadata: dict[str, bytes], count: int) -> tuple[str, list[str]]:
    """(task, class names) from the edgeport metadata: ``count`` names for a classifier, two for a
    binary model's one output, none for regression; ``class_N`` (with a warning) if they disagree."""
    from runtime.metadata import METADATA_KEY

    raw = metadata.get(METADATA_KEY)
    task, names = "classification", None
    if raw:
        try:
            doc = json.loads(raw)
            task, names = doc.get("task", task), doc.get("class_names")
        except (ValueError, AttributeError):
            pass
        expected = {"binary": 2 if count == 1 else None, "regression": 0}.get(task, count)
        if isinstance(names, list) and len(names) == expected and all(isinstance(n, str) for n in names):
            return task, names
        logger.warning("edgeport metadata has %s class names for a %s model with %d outputs; using class_N",
                       len(names) if isinstance(names, list) else "no", task, count)
        task = "classification"
    return task, [f"class_{i}" for i in range(count)]


def __getattr__(name: str):
    # lazy: host.py / validate.py pull numpy, ctypes and tflite-micro only when used
    if name == "HostCModel":
        from .host import HostCModel
        return HostCModel
    if name == "validate_c":
        from .validate import validate_c
        return validate_c
    raise AttributeError(name)
