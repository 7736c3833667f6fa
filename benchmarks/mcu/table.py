"""The MCU section of ``python -m benchmarks --mcu [--core m0,m4,...]``: one row per core and model.

For each .tflite (an edgeport artifact or any model from elsewhere, int8 or fp32), the generated C
beside it (``python -m export --format c`` writes ``model.int8.c``/``model.c``) is cross-compiled
with the harness and run on the QEMU board of each core (``boards.BOARDS``; default ``m4``: the
Cortex-M4F on ``mps2-an386``), and its outputs are compared with the tflite-micro interpreter's on
the same inputs (``exact``). A model whose C is missing is generated on the fly
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
from .boards import DEFAULT_CORE, board as board_of
from .macs import count_macs
from .qemu import run_qemu
from .reference import exactness, tflm_outputs
from .toolchain import DoesNotFitError, cross_compile, object_sizes

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
        from ..inputs import require_pixel_scale

        require_pixel_scale(model.metadata, np.asarray(images).dtype, tflite.name, "the MCU table")
        what = f"{len(images)} given {images.dtype} inputs"
    try:
        native = model.engine_input(images)
    except runtime.InvalidInputError as e:
        raise UsageError(f"{tflite.name}: the inputs do not fit the model: {e}") from e
    return native.reshape(len(native), -1), what


def mcu_row(tflite: Path, images: np.ndarray | None, work: Path, samples: int = DEFAULT_IMAGES, *,
            core: str = DEFAULT_CORE, shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Figures of one .tflite's generated C on ``core``'s board; ``images``: see ``model_inputs``.
    ``shared`` carries what the rows of one model have in common (inputs, C, TFLite Micro's
    outputs) from one core to the next."""
    b = board_of(core)
    shared = {} if shared is None else shared
    if "inputs" not in shared:
        shared["inputs"], shared["what"] = model_inputs(tflite, images, samples)
        shared["macs"], shared["arena"] = count_macs(tflite), _tflm_arena(tflite)
    inputs, what, macs = shared["inputs"], shared["what"], shared["macs"]
    row: dict[str, Any] = {"model": tflite.name, "core": b.core, "cpu": b.cpu, "board": b.machine,
                           "kernels": b.kernels, "tflm_model_bytes": tflite.stat().st_size,
                           "tflm_arena_bytes": shared["arena"]}
    if "model_c" not in shared:
        try:
            shared["model_c"] = _model_c(tflite, work)
        except _NoCode as e:  # the generator lacks an op: the rows keep TFLite Micro's figures
            shared["model_c"] = e
    model_c = shared["model_c"]
    if isinstance(model_c, _NoCode):
        return {**row, "fits": False, "macs": macs, "note": f"no C: {model_c}"}
    logger.info("mcu: %s on QEMU %s (%s), %s", model_c.name, b.machine, b.cpu, what)
    try:
        build = cross_compile(model_c, work / f"build-{tflite.stem}-{b.core}", core=b.core)
    except DoesNotFitError as e:
        return {**row, "fits": False, "macs": macs, "flash_needed": e.flash_needed, "ram_needed": e.ram_needed,
                "flash_available": b.flash_bytes, "ram_available": b.ram_bytes, "note": str(e)}
    sizes = object_sizes(build.model_object, core=b.core)
    if sizes["data"] or sizes["bss"]:
        raise BenchmarkError(f"{model_c.name}: writable globals in the model object "
                             f"(.data {sizes['data']} B, .bss {sizes['bss']} B)")
    run = run_qemu(build.elf, inputs, core=b.core)
    if "tflm" not in shared:
        shared["tflm"] = tflm_outputs(tflite, inputs)
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
        "program_flash_bytes": build.program_flash,
        "program_ram_bytes": build.program_ram,
        "instructions_per_inference": int(per_inference),
        "macs": macs,
        "instructions_per_mac": round(per_inference / macs, 3) if macs else None,
        "verify": run.verify,
        "images": len(inputs),
        "inputs": what,
        **exactness(run.outputs, shared["tflm"]),
    }


def mcu_table(model_dirs_or_tflite_paths: Iterable[str | os.PathLike[str]], *,
              images: np.ndarray | None = None, samples: int = DEFAULT_IMAGES,
              cores: Iterable[str] = (DEFAULT_CORE,)) -> list[dict[str, Any]]:
    """One row per .tflite and core: flash (weights vs code), RAM (scratch + measured peak stack),
    instructions per inference and per MAC on the core's QEMU board, whether the outputs equal
    TFLite Micro's, and TFLite Micro's arena and model size. A model that does not fit a board gets
    a row saying what it needs. ``images``: inputs as users feed the models (e.g. raw uint8 test
    images), default ``samples`` seeded random inputs from each model's own input domain."""
    paths = _tflite_paths(model_dirs_or_tflite_paths)
    boards = [board_of(core) for core in cores]
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeport-mcu-table-") as tmp:
        for path in paths:
            shared: dict[str, Any] = {}
            rows += [mcu_row(path, images, Path(tmp), samples, core=b.core, shared=shared) for b in boards]
    return rows


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _exact(r: dict[str, Any]) -> str:
    if r.get("exact") is None:
        return "—"
    return "yes" if r["exact"] else f"no ({r['mismatched_rows']}/{r['images']} rows, max |Δ| {r['max_abs_diff']:g})"


def mcu_markdown(rows: list[dict[str, Any]]) -> str:
    """The MCU table in Markdown, with the definitions a reader needs."""
    header = ["model", "core", "flash (weights + code)", "RAM (scratch + peak stack)", "instructions / inference",
              "MACs", "instructions / MAC", "exact vs TFLM", "TFLM arena", "TFLM model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        core = f"{r['cpu']} ({r['kernels']})"
        if not r.get("fits"):
            need = (f"does not fit: program needs {_n(r['flash_needed'])} B flash of {_n(r['flash_available'])}, "
                    f"{_n(r['ram_needed'])} B RAM of {_n(r['ram_available'])}" if "flash_needed" in r
                    else r.get("note", "does not fit"))
            cells = [r["model"], core, need, "—", "—", _n(r.get("macs")), "—", "—",
                     _n(r["tflm_arena_bytes"]), _n(r["tflm_model_bytes"])]
        else:
            cells = [r["model"], core, f"{_n(r['flash_bytes'])} ({_n(r['weights_bytes'])} + {_n(r['code_bytes'])})",
                     f"{_n(r['ram_bytes'])} ({_n(r['scratch_bytes'])} + {_n(r['peak_stack_bytes'])})",
                     _n(r["instructions_per_inference"]), _n(r["macs"]), _n(r["instructions_per_mac"]), _exact(r),
                     _n(r["tflm_arena_bytes"]), _n(r["tflm_model_bytes"])]
        lines.append("| " + " | ".join(cells) + " |")
    boards = {r["core"]: board_of(r["core"]) for r in rows}
    lines.append("")
    lines.append("Generated C at `-O2` on QEMU boards: " + "; ".join(
        f"{b.cpu} `{b.machine}` (`{' '.join(b.cflags)}`)" for b in boards.values()) + ". "
                 "Kernels: the path the C compiles to on that core (portable, DSP, MVE). Flash and "
                 "code/weights: `size` of the model object (.text / .rodata; .data and .bss are empty). "
                 "Instructions (not cycles): QEMU `-icount shift=0` (1 ns per instruction), read with SysTick "
                 "(Cortex-M) or `minstret` (RISC-V) around each invoke, median over the inputs. Peak stack: "
                 "painted stack, deepest write during invoke. Exact: every output byte equals the tflite-micro "
                 "interpreter's on the same inputs. Does not fit: a sizing link of the whole program (harness, "
                 "C library, stack region) against the board's flash and RAM. TFLM arena: smallest arena the "
                 "tflite-micro interpreter ran the .tflite in (bytes, reference kernels); TFLM model: the "
                 ".tflite size, without TFLM's own code.")
    return "\n".join(lines)


MCU_JSON, MCU_MD = "mcu.json", "mcu.md"


def run_mcu_only(items: Iterable[str | os.PathLike[str]], output_dir: str | os.PathLike[str] | None,
                 samples: int = DEFAULT_IMAGES, cores: Iterable[str] = (DEFAULT_CORE,)) -> str:
    """``python -m benchmarks --mcu [--core ...] MODEL.tflite...``: the MCU table alone, for any .tflite files.

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
    cores = list(cores)
    for core in cores:
        require_tools(core)
    rows = mcu_table(paths, samples=samples, cores=cores)
    text = mcu_markdown(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / MCU_JSON, json.dumps({"mcu": rows}, indent=2, allow_nan=False) + "\n")
        write_text_atomic(out / MCU_MD, "# Microcontrollers under QEMU\n\n" + text + "\n")
    return text
