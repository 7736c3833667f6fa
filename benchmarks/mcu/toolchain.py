"""Cross-compile a generated model with the semihosting harness for one board of ``boards.BOARDS``."""
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
from .boards import DEFAULT_CORE, Arch, Board, board as board_of

logger = logging.getLogger(__name__)

OPT_FLAGS = ("-O2",)
MODEL_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections")
HARNESS_FLAGS = ("-std=gnu11", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections")
COMPILE_TIMEOUT_S = 300
# Memory lengths for the sizing link of a program that does not fit: large enough for any model
# that QEMU could hold, small enough that no two regions of a board collide.
SIZING_BYTES = 128 * 1024 * 1024

_INVOKE_RE = re.compile(r"\bint\s+([A-Za-z_]\w*)_invoke\s*\(")
_SIZE_MACRO_RE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)_INPUT_SIZE\b")
_NO_FIT_RE = re.compile(r"will not fit in region|region `\w+' overflowed|overlaps the stack region")


class ToolchainMissingError(UsageError):
    """A cross compiler, its C library or QEMU is not installed."""


class CrossCompileError(BenchmarkError):
    """The cross compiler or linker rejected the model or the harness."""


class DoesNotFitError(UsageError):
    """The linked program needs more flash or RAM than the board has.

    ``flash_needed``/``ram_needed`` are measured from a sizing link of the same program with
    unbounded memory: text + data, and data + bss + the linker script's stack region.
    """

    def __init__(self, model: str, board: Board, flash_needed: int, ram_needed: int):
        self.model, self.board = model, board
        self.flash_needed, self.ram_needed = flash_needed, ram_needed
        short = [f"{what} needs {need:,} B, the board has {have:,} B" for what, need, have in
                 (("flash", flash_needed, board.flash_bytes), ("RAM", ram_needed, board.ram_bytes)) if need > have]
        super().__init__(f"{model} does not fit on {board.label}: {'; '.join(short)} (the whole linked "
                         "program: model, harness and C library; RAM includes the stack region)")


@dataclass(frozen=True)
class Build:
    """A linked harness: ``elf`` runs under QEMU; ``model_object`` is the model alone.

    ``program_flash``/``program_ram``: the whole program (text + data; data + bss + stack region).
    """

    elf: Path
    model_object: Path
    prefix: str
    prefix_upper: str
    board: Board
    program_flash: int
    program_ram: int


def missing_tools(core: str = DEFAULT_CORE) -> list[str]:
    """Names of the tools ``core``'s board needs (compiler, C library, size, QEMU) that are missing."""
    arch = board_of(core).arch
    missing = [tool for tool in (arch.gcc, arch.size, arch.qemu) if shutil.which(tool) is None]
    if arch.gcc not in missing and not _has_libc(board_of(core)):
        missing.append(f"the C library of {arch.gcc} ({arch.libc_probe})")
    return missing


def require_tools(core: str = DEFAULT_CORE) -> None:
    """Raise ToolchainMissingError naming every missing tool of ``core``'s board."""
    missing = missing_tools(core)
    if missing:
        raise ToolchainMissingError(f"missing {', '.join(missing)}: install them with "
                                    f"`apt-get install {board_of(core).arch.packages}`")


def _has_libc(b: Board) -> bool:
    out = subprocess.run([b.arch.gcc, *b.cflags, f"-print-file-name={b.arch.libc_probe}"],
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


def asset(name: str) -> Path:
    """A file of ``benchmarks/mcu/assets`` (startup code, linker scripts, harness)."""
    return Path(str(resources.files(__package__).joinpath("assets", name)))


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    logger.debug("%s", " ".join(cmd))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise CrossCompileError(f"{what}: timed out after {COMPILE_TIMEOUT_S} s") from e
    if out.returncode != 0:
        raise CrossCompileError(f"{what} failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return out


def cross_compile(
    model_c: str | Path,
    out_dir: str | Path | None = None,
    *,
    header: str | Path | None = None,
    opt_flags: tuple[str, ...] = OPT_FLAGS,
    core: str = DEFAULT_CORE,
) -> Build:
    """Compile ``model_c`` and the harness for ``core``'s board and link ``prog.elf`` in ``out_dir``.

    The header defaults to ``model_c`` with a ``.h`` suffix; the API prefix is read from it.
    The model object is kept (``model.o``) so its sections can be sized on their own. Without
    ``out_dir``, a new temporary folder is used and left for the caller. Raises DoesNotFitError
    when the program needs more flash or RAM than the board has.
    """
    b = board_of(core)
    require_tools(core)
    model_c = Path(model_c)
    header = Path(header) if header is not None else model_c.with_suffix(".h")
    for path in (model_c, header):
        if not path.is_file():
            raise UsageError(f"{path}: no such file (expected a generated model .c and its .h)")
    prefix, prefix_upper = api_prefix(header)
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="edgeport-mcu-"))
    out.mkdir(parents=True, exist_ok=True)
    gcc, flags = b.arch.gcc, [*b.cflags, *b.arch.libc_flags, *opt_flags]
    model_o, harness_o = out / "model.o", out / "harness.o"
    _run([gcc, *flags, *MODEL_FLAGS, "-c", str(model_c), "-o", str(model_o)], f"compiling {model_c.name}")
    _run([gcc, *flags, *HARNESS_FLAGS, f"-I{asset('')}", f"-I{header.parent}", f'-DEP_HEADER="{header.name}"',
          f"-DEP_PREFIX={prefix}", f"-DEP_PREFIX_UPPER={prefix_upper}", f"-DEP_COUNTER_{b.counter.upper()}",
          "-c", str(asset("harness.c")), "-o", str(harness_o)], "compiling harness.c")
    objects = [harness_o, model_o]
    for name in b.arch.startup:
        obj = out / (Path(name).stem + ".o")
        _run([gcc, *flags, *HARNESS_FLAGS, f"-I{asset('')}", "-c", str(asset(name)), "-o", str(obj)],
             f"compiling {name}")
        objects.append(obj)
    elf = out / "prog.elf"
    try:
        _link(b, objects, elf, b.flash_bytes, b.ram_bytes)
    except CrossCompileError as e:
        if not _NO_FIT_RE.search(str(e)):
            raise
        sizing = out / "sizing.elf"
        _link(b, objects, sizing, SIZING_BYTES, SIZING_BYTES)
        flash, ram = program_sizes(sizing, b.arch)
        raise DoesNotFitError(model_c.name, b, flash, ram) from e
    flash, ram = program_sizes(elf, b.arch)
    return Build(elf=elf, model_object=model_o, prefix=prefix, prefix_upper=prefix_upper, board=b,
                 program_flash=flash, program_ram=ram)


def _link(b: Board, objects: list[Path], elf: Path, flash_bytes: int, ram_bytes: int) -> None:
    # no start files: the startup asset is ours
    _run([b.arch.gcc, *b.cflags, *b.arch.libc_flags, "-nostartfiles", f"-L{asset('')}", "-T", b.linker_script,
          f"-Wl,--defsym=__ep_flash_bytes={flash_bytes}", f"-Wl,--defsym=__ep_ram_bytes={ram_bytes}",
          "-Wl,--gc-sections", *map(str, objects), "-lm", "-o", str(elf)], f"linking {elf.name} for {b.label}")


def program_sizes(elf: str | Path, arch: Arch) -> tuple[int, int]:
    """(flash, RAM) of a linked program from ``size`` (Berkeley): text + data, data + bss.

    bss includes the NOLOAD stack region of the linker scripts."""
    out = subprocess.run([arch.size, str(elf)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise CrossCompileError(f"{arch.size} {elf} failed: {out.stderr.strip()}")
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss


def object_sizes(obj: str | Path, *, core: str = DEFAULT_CORE) -> dict[str, int]:
    """Section sizes of one object from ``size -A``, summed into code (.text*), weights
    (.rodata* and RISC-V .srodata*: tables and strings), data (.data*, .sdata*) and bss (.bss*, .sbss*, COMMON)."""
    require_tools(core)
    tool = board_of(core).arch.size
    out = subprocess.run([tool, "-A", str(obj)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise CrossCompileError(f"{tool} {obj} failed: {out.stderr.strip()}")
    sizes = {"code": 0, "weights": 0, "data": 0, "bss": 0}
    groups = ((".text", "code"), (".rodata", "weights"), (".srodata", "weights"), (".data", "data"),
              (".sdata", "data"), (".bss", "bss"), (".sbss", "bss"), ("COMMON", "bss"))
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



