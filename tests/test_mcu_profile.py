"""Per-op profile of the generated C on QEMU's Cortex-M4 (``--mcu --profile``, issue 17 item 4).

The shipped C has no hooks; the profiling build calls one after every op, and the profile's ops
add up to the measured invoke. Real compiler, real QEMU; without them the QEMU test skips, except
in CI.
"""
from __future__ import annotations

import re
from pathlib import Path

from tests.tools import require_board

CNN = Path(__file__).parent / "fixtures" / "mcu" / "cnn.int8.tflite"


def test_shipped_c_has_no_profiling_code():
    from export.csrc import generate_c, op_steps

    shipped, _ = generate_c(CNN)
    assert "edgeport_profile_step" not in shipped and "SysTick" not in shipped
    profiled, _ = generate_c(CNN, profile=True)
    calls = re.findall(r"edgeport_profile_step\((-?\d+)\);", profiled)
    steps = op_steps(CNN)
    assert calls == [str(k) for k in range(-1, len(steps))]
    assert [s["op"] for s in steps][:4] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "CONV_2D"]


def test_profile_of_a_cnn_adds_up_to_the_invoke(tmp_path):
    require_board("m4")
    from benchmarks.mcu.profile import profile_markdown, profile_model
    from export.csrc import op_steps

    prof = profile_model(CNN, tmp_path)
    ops = prof["ops"]
    assert [op["op"] for op in ops] == [s["op"] for s in op_steps(CNN)]
    assert all(op["instructions"] > 0 for op in ops if op["macs"])
    assert prof["macs"] == sum(op["macs"] for op in ops) == 133_056
    # the ops are the invoke, up to the hooks and the per-op rounding of SysTick (40 instructions)
    total = sum(op["instructions"] for op in ops)
    assert 0.9 * prof["instructions"] <= total <= prof["instructions"] + 40 * len(ops)
    text = profile_markdown([prof])
    assert "| 0 | CONV_2D | `op" in text and "instructions, not cycles" in text


def test_profile_needs_mcu_and_a_model(tmp_path, capsys):
    from benchmarks.__main__ import main
    from benchmarks.mcu.profile import main as profile_main

    assert main(["--profile"]) == 2
    assert "error: --profile needs --mcu" in capsys.readouterr().err
    assert profile_main([str(tmp_path)]) == 2
    assert "no int8 .tflite model" in capsys.readouterr().err
