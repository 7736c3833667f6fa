"""The MCU section of ``python -m benchmarks --mcu``: flash, RAM and instructions on a Cortex-M4F.

For each .tflite (an edgeport artifact or any model from elsewhere, int8 or fp32), the generated C
beside it (``python -m export --format c`` writes ``model.int8.c``/``model.c``) is cross-compiled
with the harness and run on QEMU ``mps2-an386``. A model whose C is missing is generated on the fly
when ``export.csrc`` is installed. TFLite Micro's arena comes from ``<stem>.tflm.h`` (``--format
tflm``), else it is measured with ``export.tflm`` when tflite-micro is installed.

Each model is fed inputs of its own shape and type, converted by ``runtime`` under the model's
input contract (its pixel scale, its input's scale and zero point): the caller's data, or random
inputs from the input's domain.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import BenchmarkError, UsageError
from .macs import count_macs
from .qemu import run_qemu
from .toolchain import CrossCompileError, cross_compile, object_sizes

logger = logging.getLogger(__name__)

MODEL_FILES = ("model.int8.tflite", "model.tflite")
DEFAULT_IMAGES = 20
_ARENA_RE = re.compile(r"#define \w+_TFLM_ARENA_BYTES (\d+)u")


def _tflite_paths(items: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The .tflite files to measure: files as given; for a folder, its ``MODEL_FILES``, else every .tflite in it."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = [path / name for name in MODEL_FILES if (path / name).is_file()]
            found = found or sorted(p for p in path.glob("*.tflite") if p.is_file() and not p.name.startswith("."))
            if not found:
                raise UsageError(f"{path}: expected {' or '.join(MODEL_FILES)} (or any .tflite) in it, found none")
            paths.extend(found)
        elif path.suffix == ".tflite" and path.is_file():
            paths.append(path)
        else:
            raise UsageError(f"{path}: expected a folder of artifacts or a .tflite file")
    return paths


def _model_c(tflite: Path, work: Path) -> Path:
    """``<stem>.c`` beside the .tflite, else one generated into ``work``."""
    stem = tflite.name[: -len(".tflite")]
    beside = tflite.with_name(f"{stem}.c")
    if beside.is_file() and beside.with_suffix(".h").is_file():
        return beside
    try:
        from export.csrc import export_c
    except ImportError as e:
        raise UsageError(f"{beside} not found: create it with `python -m export --format c`") from e
    from export.csrc import UnsupportedOpError

    logger.info("%s not found: generating it from %s", beside.name, tflite.name)
    try:
        c_path, _ = export_c(tflite, work, base_name=stem)
    except UnsupportedOpError as e:
        raise _NoCode(str(e).split(";")[0]) from e
    return c_path


class _NoCode(Exception):
    """``export.csrc`` cannot generate C for the model (the message names the op)."""


def _tflm_arena(tflite: Path) -> int | None:
    header = tflite.with_name(tflite.name[: -len(".tflite")] + ".tflm.h")
    if header.is_file():
        match = _ARENA_RE.search(header.read_text(errors="replace"))
        if match:
            return int(match.group(1))
    try:
        from export.tflm import measure_arena
    except ImportError:
        return None
    try:
        return measure_arena(tflite).required_bytes
    except Exception as e:  # tflite-micro missing or unable to run the model: leave the cell empty
        logger.warning("%s: no TFLite Micro arena (%s)", tflite.name, e)
        return None


def model_inputs(tflite: Path, images: np.ndarray | None, samples: int = DEFAULT_IMAGES,
                 seed: int = 0) -> tuple[np.ndarray, str]:
    """(N, INPUT_SIZE) rows of the model's own input type, and what they are.

    ``images``: data as users feed the model (e.g. raw uint8 pixels), converted by ``runtime``
    under the model's input contract; None: ``samples`` random inputs from the input's domain.
    """
    import runtime

    model = runtime.load(tflite, num_threads=1)
    if images is None:
        from export.data import contract_inputs

        images, what = contract_inputs(model, samples, seed)
        what = f"{samples} random {what}"
    else:
        what = f"{len(images)} given {images.dtype} inputs"
    try:
        native = model.engine_input(images)
    except runtime.InvalidInputError as e:
        raise UsageError(f"{tflite.name}: the inputs do not fit the model: {e}") from e
    return native.reshape(len(native), -1), what


def mcu_row(tflite: Path, images: np.ndarray | None, work: Path, samples: int = DEFAULT_IMAGES) -> dict[str, Any]:
    """Figures of one .tflite's generated C on the emulated Cortex-M4F; ``images``: see ``model_inputs``."""
    row: dict[str, Any] = {"model": tflite.name, "tflm_model_bytes": tflite.stat().st_size,
                           "tflm_arena_bytes": _tflm_arena(tflite)}
    inputs, what = model_inputs(tflite, images, samples)
    macs = count_macs(tflite)
    try:
        model_c = _model_c(tflite, work)
    except _NoCode as e:  # the generator lacks an op: the row keeps TFLite Micro's figures
        return {**row, "fits": False, "macs": macs, "note": f"no C: {e}"}
    logger.info("mcu: %s on QEMU mps2-an386 (Cortex-M4F), %s", model_c.name, what)
    try:
        build = cross_compile(model_c, work / f"build-{tflite.stem}")
    except CrossCompileError as e:
        if "overflow" in str(e):
            return {**row, "fits": False, "macs": macs, "note": "does not fit in 4 MB of flash"}
        raise
    sizes = object_sizes(build.model_object)
    if sizes["data"] or sizes["bss"]:
        raise BenchmarkError(f"{model_c.name}: writable globals in the model object "
                             f"(.data {sizes['data']} B, .bss {sizes['bss']} B)")
    run = run_qemu(build.elf, inputs)
    per_inference = run.instructions_per_inference
    return {
        **row,
        "fits": True,
        "c_source": model_c.name,
        "flash_bytes": sizes["code"] + sizes["weights"],
        "weights_bytes": sizes["weights"],
        "code_bytes": sizes["code"],
        "scratch_bytes": run.scratch_bytes,
        "peak_stack_bytes": run.peak_stack_bytes,
        "ram_bytes": run.scratch_bytes + run.peak_stack_bytes,
        "instructions_per_inference": int(per_inference),
        "macs": macs,
        "instructions_per_mac": round(per_inference / macs, 3) if macs else None,
        "verify": run.verify,
        "images": len(inputs),
        "inputs": what,
    }


def mcu_table(model_dirs_or_tflite_paths: Iterable[str | os.PathLike[str]], *,
              images: np.ndarray | None = None, samples: int = DEFAULT_IMAGES) -> list[dict[str, Any]]:
    """One row per .tflite: flash (weights vs code), RAM (scratch + measured peak stack),
    instructions per inference and per MAC on QEMU's Cortex-M4F, and TFLite Micro's arena
    and model size. ``images``: inputs as users feed the models (e.g. raw uint8 test images),
    default ``samples`` seeded random inputs from each model's own input domain."""
    paths = _tflite_paths(model_dirs_or_tflite_paths)
    with tempfile.TemporaryDirectory(prefix="edgeport-mcu-table-") as tmp:
        return [mcu_row(path, images, Path(tmp), samples) for path in paths]


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def mcu_markdown(rows: list[dict[str, Any]]) -> str:
    """The MCU table in Markdown, with the definitions a reader needs."""
    header = ["model", "flash (weights + code)", "RAM (scratch + peak stack)", "instructions / inference",
              "MACs", "instructions / MAC", "TFLM arena", "TFLM model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        if not r.get("fits"):
            cells = [r["model"], r.get("note", "does not fit"), "—", "—", _n(r.get("macs")), "—",
                     _n(r["tflm_arena_bytes"]), _n(r["tflm_model_bytes"])]
        else:
            cells = [r["model"], f"{_n(r['flash_bytes'])} ({_n(r['weights_bytes'])} + {_n(r['code_bytes'])})",
                     f"{_n(r['ram_bytes'])} ({_n(r['scratch_bytes'])} + {_n(r['peak_stack_bytes'])})",
                     _n(r["instructions_per_inference"]), _n(r["macs"]), _n(r["instructions_per_mac"]),
                     _n(r["tflm_arena_bytes"]), _n(r["tflm_model_bytes"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Generated C on QEMU `mps2-an386` (Cortex-M4F), `arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mthumb "
                 "-mfloat-abi=hard`. Flash and code/weights: `arm-none-eabi-size` of the model object "
                 "(.text / .rodata; .data and .bss are empty). Instructions (not cycles): SysTick under "
                 "`-icount shift=0`, median over the images. Peak stack: painted stack, deepest write during "
                 "invoke. TFLM arena: smallest arena the tflite-micro interpreter ran the .tflite in (bytes, "
                 "reference kernels); TFLM model: the .tflite size, without TFLM's own code.")
    return "\n".join(lines)


MCU_JSON, MCU_MD = "mcu.json", "mcu.md"


def run_mcu_only(items: Iterable[str | os.PathLike[str]], output_dir: str | os.PathLike[str] | None,
                 samples: int = DEFAULT_IMAGES) -> str:
    """``python -m benchmarks --mcu MODEL.tflite...``: the MCU table alone, for any .tflite files.

    Every file is checked (loadable by ``runtime``) before any work; the rows go to ``mcu.json`` and
    ``mcu.md`` in ``output_dir`` (written atomically; skipped if it is None). Returns the Markdown.
    """
    import json

    import runtime
    from runtime.files import write_text_atomic

    from ..preflight import check_output_dir
    from .toolchain import require_tools

    paths = _tflite_paths(items)
    out = check_output_dir(output_dir) if output_dir is not None else None
    for path in paths:
        try:
            runtime.load(path, num_threads=1)
        except (runtime.ModelFileError, runtime.BackendUnavailableError) as e:
            raise UsageError(str(e)) from e
    require_tools()
    rows = mcu_table(paths, samples=samples)
    text = mcu_markdown(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / MCU_JSON, json.dumps({"mcu": rows}, indent=2, allow_nan=False) + "\n")
        write_text_atomic(out / MCU_MD, "# Microcontroller: Cortex-M4F under QEMU\n\n" + text + "\n")
    return text
