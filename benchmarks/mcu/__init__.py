"""Microcontroller figures: generated C cross-compiled for emulated cores and run under QEMU.

``boards.BOARDS`` describes each core (``m0``, ``m3``, ``m4``, ``m7``, ``m33``, ``m55``, ``rv32``):
its QEMU board, compiler flags, memory and instruction counter. ``cross_compile`` builds a model
with the semihosting harness in ``assets/`` for one core (DoesNotFitError when it does not fit);
``run_qemu`` runs it and returns outputs, instructions per inference (under ``-icount shift=0``:
instructions, not cycles) and peak stack; ``mcu_table`` gathers the MCU section of
``python -m benchmarks --mcu [--core ...]``.
"""
from .boards import BOARDS, Board, parse_cores
from .macs import count_macs
from .qemu import McuRun, QemuRunError, run_qemu
from .table import mcu_markdown, mcu_table
from .toolchain import (Build, CrossCompileError, DoesNotFitError, ToolchainMissingError, cross_compile,
                        missing_tools, object_sizes, program_sizes, require_tools)

__all__ = ["BOARDS", "Board", "Build", "CrossCompileError", "DoesNotFitError", "McuRun", "QemuRunError",
           "ToolchainMissingError", "count_macs", "cross_compile", "mcu_markdown", "mcu_table", "missing_tools",
           "object_sizes", "parse_cores", "program_sizes", "require_tools", "run_qemu"]
