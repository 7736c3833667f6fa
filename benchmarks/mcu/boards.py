"""The emulated boards: one table, used by the compiler driver, QEMU runner, MCU table and CLI.

Each core name (``--core m0,m4,...``) maps to one QEMU board, its compiler flags, its memory
and its instruction counter. QEMU runs with ``-icount shift=0``: one guest instruction is one
nanosecond of virtual time, so a timer at F Hz ticks once every 1e9/F instructions. The counts
are instructions, not cycles.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import UsageError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Arch:
    """A cross toolchain and its QEMU: everything the boards of one architecture share."""

    name: str
    gcc: str
    size: str
    qemu: str
    startup: tuple[str, ...]      # assets compiled into every program
    libc_flags: tuple[str, ...]   # the C library's specs, for compiling and linking
    libc_probe: str               # a file the C library must have, for missing_tools()
    packages: str                 # Debian packages that provide all of the above


ARM = Arch(
    name="arm", gcc="arm-none-eabi-gcc", size="arm-none-eabi-size", qemu="qemu-system-arm",
    startup=("startup_cortex_m.c", "semihost.c"),
    libc_flags=("--specs=nano.specs",), libc_probe="nano.specs",
    packages="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm",
)
RISCV = Arch(
    name="riscv", gcc="riscv64-unknown-elf-gcc", size="riscv64-unknown-elf-size", qemu="qemu-system-riscv32",
    startup=("startup_riscv.S", "semihost.c"),
    libc_flags=("--specs=picolibc.specs",), libc_probe="picolibc.specs",
    packages="gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc",
)


@dataclass(frozen=True)
class Board:
    """One core on one QEMU board.

    ``counter``: ``systick`` (the Cortex-M SysTick on the processor clock, ``counter_hz``) or
    ``instret`` (RISC-V ``minstret``, one per instruction). ``kernels`` names the kernel path the
    generated C compiles to on this core (chosen by the compiler's feature macros).
    """

    core: str
    cpu: str
    machine: str
    arch: Arch
    cflags: tuple[str, ...]
    qemu_args: tuple[str, ...]
    linker_script: str
    flash_bytes: int
    ram_bytes: int
    counter: str
    counter_hz: int
    kernels: str

    @property
    def instructions_per_tick(self) -> Fraction:
        """Instructions per counter tick under ``-icount shift=0``."""
        return Fraction(10**9, self.counter_hz)

    @property
    def label(self) -> str:
        return f"{self.cpu} ({self.machine})"


_M_PROFILE = ("-mthumb",)

BOARDS: dict[str, Board] = {b.core: b for b in (
    Board("m0", "Cortex-M0", "microbit", ARM, ("-mcpu=cortex-m0", *_M_PROFILE, "-mfloat-abi=soft"), (),
          "microbit.ld", 256 * KIB, 16 * KIB, "systick", 16_000_000, "portable"),
    Board("m3", "Cortex-M3", "mps2-an385", ARM, ("-mcpu=cortex-m3", *_M_PROFILE, "-mfloat-abi=soft"), (),
          "mps2_an385.ld", 4 * MIB, 4 * MIB, "systick", 25_000_000, "portable"),
    Board("m4", "Cortex-M4F", "mps2-an386", ARM,
          ("-mcpu=cortex-m4", *_M_PROFILE, "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"), (),
          "mps2_an386.ld", 4 * MIB, 4 * MIB, "systick", 25_000_000, "DSP"),
    Board("m7", "Cortex-M7", "mps2-an500", ARM,
          ("-mcpu=cortex-m7", *_M_PROFILE, "-mfloat-abi=hard", "-mfpu=fpv5-d16"), (),
          "mps2_an500.ld", 4 * MIB, 4 * MIB, "systick", 25_000_000, "DSP"),
    Board("m33", "Cortex-M33", "mps2-an505", ARM,
          ("-mcpu=cortex-m33", *_M_PROFILE, "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"), (),
          "mps2_an505.ld", 4 * MIB, 4 * MIB, "systick", 20_000_000, "DSP"),
    Board("m55", "Cortex-M55", "mps3-an547", ARM, ("-mcpu=cortex-m55", *_M_PROFILE, "-mfloat-abi=hard"), (),
          "mps3_an547.ld", 2 * MIB, 512 * KIB, "systick", 32_000_000, "MVE"),
    # -misa-spec=2.2: CSR instructions are part of I, and the rv32im C library matches.
    Board("rv32", "RV32IMC", "virt", RISCV, ("-march=rv32imc", "-mabi=ilp32", "-misa-spec=2.2"),
          ("-cpu", "rv32,a=false,f=false,d=false", "-bios", "none"),
          "riscv_virt.ld", 8 * MIB, 8 * MIB, "instret", 10**9, "portable"),
)}
DEFAULT_CORE = "m4"


def board(core: str) -> Board:
    """The board of ``core``; UsageError naming the known cores otherwise."""
    try:
        return BOARDS[core]
    except (KeyError, TypeError) as e:
        raise UsageError(f"unknown core {core!r}; expected one of {', '.join(BOARDS)}") from e


def parse_cores(text: str) -> list[Board]:
    """``"m0,m4,rv32"`` -> their boards, in order, without repeats; UsageError for unknown names."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    if not names:
        raise UsageError(f"--core: expected a comma-separated list of {', '.join(BOARDS)}, got {text!r}")
    unknown = [n for n in names if n not in BOARDS]
    if unknown:
        raise UsageError(f"--core: unknown core(s) {', '.join(map(repr, unknown))}; "
                         f"expected some of {', '.join(BOARDS)}")
    return [BOARDS[n] for n in dict.fromkeys(names)]
