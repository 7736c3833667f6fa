"""Cross-compile a generated model with the semihosting harness for QEMU's Cortex-M4 (mps2-an386)."""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import BenchmarkError, UsageError

logger = logging.getLogger(__name__)

GCC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"
QEMU = "qemu-system-arm"
APT_HINT = "install them with `apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm`"

CPU_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
OPT_FLAGS = ("-O2",)
MODEL_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections")
COMPILE_TIMEOUT_S = 300

_INVOKE_RE = re.compile(r"\bint\s+([A-Za-z_]\w*)_invoke\s*\(")
_SIZE_MACRO_RE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)_INPUT_SIZE\b")


class ToolchainMissingError(UsageError):
    """arm-none-eabi-gcc, its newlib or qemu-system-arm is not installed."""


class CrossCompileError(BenchmarkError):
    """The ARM compiler or linker rejected the model or the harness."""


@dataclass(frozen=True)
class Build:
    """A linked harness: ``elf`` runs under QEMU; ``model_object`` is the model alone."""

    elf: Path
    model_object: Path
    prefix: str
    prefix_upper: str


def missing_tools() -> list[str]:
    """Names of the cross tools (compiler, newlib, size, QEMU) that are not installed."""
    missing = [tool for tool in (GCC, SIZE, QEMU) if shutil.which(tool) is None]
    if GCC not in missing and not _has_newlib():
        missing.append("libnewlib-arm-none-eabi (rdimon.specs)")
    return missing


def require_tools() -> None:
    """Raise ToolchainMissingError naming every missing tool."""
    missing = missing_tools()
    if missing:
        raise ToolchainMissingError(f"missing {', '.join(missing)}: {APT_HINT}")


def _has_newlib() -> bool:
    out = subprocess.run([GCC, *CPU_FLAGS, "-print-file-name=rdimon.specs"],
                         capture_output=True, text=True, timeout=60)
    return out.returncode == 0 and Path(out.stdout.strip()).is_file()


def api_prefix(header: Path) -> tuple[str, str]:
    """The (function, macro) prefixes of a generated header, e.g. ('edgeport_model', 'EDGEPORT_MODEL')."""
    text = header.read_text(encoding="utf-8", errors="replace")
    invoke, macro = _INVOKE_RE.search(text), _SIZE_MACRO_RE.search(text)
    if invoke is None or macro is None:
        raise UsageError(f"{header}: expected a model header declaring `int <prefix>_invoke(...)` "
                         "and `#define <PREFIX>_INPUT_SIZE`, found neither or only one")
    return invoke.group(1), macro.group(1)


def _asset(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath("assets", name)))


def _run(cmd: list[str], what: str) -> None:
    logger.debug("%s", " ".join(cmd))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise CrossCompileError(f"{what}: timed out after {COMPILE_TIMEOUT_S} s") from e
    if out.returncode != 0:
        raise CrossCompileError(f"{what} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")


def cross_compile(
    model_c: str | Path,
    out_dir: str | Path | None = None,
    *,
    header: str | Path | None = None,
    opt_flags: tuple[str, ...] = OPT_FLAGS,
) -> Build:
    """Compile ``model_c`` and the harness for the Cortex-M4F and link ``prog.elf`` in ``out_dir``.

    The header defaults to ``model_c`` with a ``.h`` suffix; the API prefix is read from it.
    The model object is kept (``model.o``) so its sections can be sized on their own. Without
    ``out_dir``, a new temporary folder is used and left for the caller.
    """
    require_tools()
    model_c = Path(model_c)
    header = Path(header) if header is not None else model_c.with_suffix(".h")
    for path in (model_c, header):
        if not path.is_file():
            raise UsageError(f"{path}: no such file (expected a generated model .c and its .h)")
    prefix, prefix_upper = api_prefix(header)
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="edgeport-mcu-"))
    out.mkdir(parents=True, exist_ok=True)
    flags = [*CPU_FLAGS, *opt_flags]
    model_o, startup_o, harness_o, elf = (out / n for n in ("model.o", "startup.o", "harness.o", "prog.elf"))
    _run([GCC, *flags, *MODEL_FLAGS, "-c", str(model_c), "-o", str(model_o)], f"compiling {model_c.name}")
    _run([GCC, *flags, "-c", str(_asset("startup.c")), "-o", str(startup_o)], "compiling startup.c")
    _run([GCC, *flags, "-std=gnu11", f"-I{header.parent}", f'-DEP_HEADER="{header.name}"',
          f"-DEP_PREFIX={prefix}", f"-DEP_PREFIX_UPPER={prefix_upper}",
          "-c", str(_asset("harness.c")), "-o", str(harness_o)], "compiling harness.c")
    _run([GCC, *flags, "--specs=rdimon.specs", "-T", str(_asset("mps2_an386.ld")), "-Wl,--gc-sections",
          str(startup_o), str(harness_o), str(model_o), "-lm", "-o", str(elf)], "linking prog.elf")
    return Build(elf=elf, model_object=model_o, prefix=prefix, prefix_upper=prefix_upper)


def object_sizes(obj: str | Path) -> dict[str, int]:
    """Section sizes of one object from ``arm-none-eabi-size -A``, summed into
    code (.text*), weights (.rodata*: tables and strings), data (.data*) and bss (.bss*, COMMON)."""
    require_tools()
    out = subprocess.run([SIZE, "-A", str(obj)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise CrossCompileError(f"{SIZE} {obj} failed: {out.stderr.strip()}")
    sizes = {"code": 0, "weights": 0, "data": 0, "bss": 0}
    groups = ((".text", "code"), (".rodata", "weights"), (".data", "data"), (".bss", "bss"), ("COMMON", "bss"))
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        for start, key in groups:
            if name == start or name.startswith(start + "."):
                sizes[key] += size
    sizes["flash"] = sizes["code"] + sizes["weights"] + sizes["data"]
    return sizes
