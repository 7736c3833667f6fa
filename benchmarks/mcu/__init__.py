"""Microcontroller figures: generated C cross-compiled for a Cortex-M4F and run under QEMU.

``cross_compile`` builds the model with the semihosting harness in ``assets/``; ``run_qemu`` runs
it on ``mps2-an386`` and returns outputs, instructions per inference (SysTick under
``-icount shift=0``: instructions, not cycles) and peak stack; ``mcu_table`` gathers the MCU
section of ``python -m benchmarks --mcu``.
"""
from .macs import count_macs
from .qemu import McuRun, QemuRunError, run_qemu
from .table import mcu_markdown, mcu_table
from .toolchain import (Build, CrossCompileError, ToolchainMissingError, cross_compile, missing_tools,
                        object_sizes, require_tools)

__all__ = ["Build", "CrossCompileError", "McuRun", "QemuRunError", "ToolchainMissingError", "count_macs",
           "cross_compile", "mcu_markdown", "mcu_table", "missing_tools", "object_sizes", "require_tools", "run_qemu"]
