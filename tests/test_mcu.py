"""Cortex-M4 proof: generated C cross-compiled with arm-none-eabi-gcc and run under QEMU mps2-an386.
(Every other core of the board table: tests/test_mcu_boards.py.)

Nothing is mocked: the real cross compiler, newlib, QEMU and test images are used. Without the
tools these tests skip with the reason, except in CI (CI=true), where they fail.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks.errors import UsageError
from benchmarks.mcu import QemuRunError, count_macs, cross_compile, object_sizes, run_qemu
from tests.tools import MCU_FIXTURES as FIXTURES, copy_tiny_dense, host_outputs, require_board, write_loop_model

N_IMAGES = 200


@pytest.fixture(scope="module")
def toolchain() -> None:
    require_board("m4")


@pytest.fixture(scope="module")
def images(test_set) -> np.ndarray:
    return test_set[0][:N_IMAGES].reshape(N_IMAGES, -1)


def test_fixture_on_cortex_m4_matches_host_build(toolchain, images, tmp_path):
    model_c = copy_tiny_dense(tmp_path)
    build = cross_compile(model_c, tmp_path / "arm")
    run = run_qemu(build.elf, images)
    host = host_outputs(model_c, images)
    assert run.outputs.dtype == np.int8 and run.outputs.shape == (N_IMAGES, 10)
    assert np.array_equal(run.outputs, host), f"{(run.outputs != host).any(axis=1).sum()} rows differ"
    assert len(np.unique(run.outputs, axis=0)) > N_IMAGES // 2  # real, varied outputs
    assert run.verify == 0
    assert all(code < 0 for code in run.null_codes)
    assert run.scratch_bytes == 49
    # invoke saves callee-saved registers: some stack, far below the 64 KB region
    assert 8 <= run.peak_stack_bytes < 1024
    assert len(run.instructions) == N_IMAGES and 3_000 < run.instructions_per_inference < 50_000


def test_model_object_is_all_flash(toolchain, tmp_path):
    build = cross_compile(copy_tiny_dense(tmp_path), tmp_path / "arm")
    sizes = object_sizes(build.model_object)
    assert sizes["data"] == 0 and sizes["bss"] == 0
    assert sizes["weights"] >= 490 + 40  # the int8 table and the int32 biases
    assert 0 < sizes["code"] < 2000 and sizes["flash"] == sizes["code"] + sizes["weights"]


def test_verify_on_target_detects_one_changed_weight(toolchain, images, tmp_path):
    def flip(name: str, text: str) -> str:
        return text.replace("{ 116,", "{ 115,", 1) if name.endswith(".c") else text

    build = cross_compile(copy_tiny_dense(tmp_path, flip), tmp_path / "arm")
    assert run_qemu(build.elf, images[:2]).verify != 0


def test_scratch_overrun_is_caught(toolchain, images, tmp_path):
    def shrink(name: str, text: str) -> str:  # the model still writes 49 bytes
        return text.replace("#define TINY_SCRATCH_BYTES 49", "#define TINY_SCRATCH_BYTES 8")

    build = cross_compile(copy_tiny_dense(tmp_path, shrink), tmp_path / "arm")
    with pytest.raises(QemuRunError, match="scratch"):
        run_qemu(build.elf, images[:2])


def test_fault_ends_the_run_with_an_error(toolchain, images, tmp_path):
    def crash(name: str, text: str) -> str:
        return text.replace("    int8_t *features = (int8_t *)scratch;",
                            "    *(volatile uint32_t *)0xFFFFFFF0u = 1u;\n    int8_t *features = (int8_t *)scratch;")

    build = cross_compile(copy_tiny_dense(tmp_path, crash), tmp_path / "arm")
    with pytest.raises(QemuRunError, match="Fault"):
        run_qemu(build.elf, images[:1], timeout=60)


def test_wrong_input_type_is_refused(toolchain, images, tmp_path):
    build = cross_compile(copy_tiny_dense(tmp_path), tmp_path / "arm")
    with pytest.raises(UsageError, match="784 uint8"):
        run_qemu(build.elf, images[:2].astype(np.float32))


def test_systick_counts_instructions(toolchain, tmp_path):
    """A 2-instruction loop run 350 M times reads 700 M instructions: 1 tick = 40 instructions, and
    the count survives the 24-bit SysTick wrap (2^24 ticks = 671 M instructions)."""
    build = cross_compile(write_loop_model(tmp_path, 350_000_000), tmp_path / "arm")
    run = run_qemu(build.elf, np.array([[7]], dtype=np.uint8), timeout=300)
    assert run.outputs.ravel().tolist() == [7]
    assert np.all(np.abs(run.instructions - 700_000_000) <= 200), run.instructions


def test_harness_needs_no_c_library_io(toolchain, tmp_path):
    """The harness talks to the host through semihosting itself: no stdio, no heap."""
    import subprocess

    build = cross_compile(copy_tiny_dense(tmp_path), tmp_path / "arm")
    symbols = subprocess.run(["arm-none-eabi-nm", str(build.elf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in symbols.splitlines()}
    assert not names & {"printf", "fopen", "fwrite", "malloc", "_sbrk"}
    assert build.program_ram < 64 * 1024 + 4096  # the 64 KB stack region, buffers and scratch


def test_count_macs_of_the_mlp(exported_dir):
    expected = 784 * 300 + 300 * 100 + 100 * 10
    assert count_macs(exported_dir / "model.int8.tflite") == expected
    assert count_macs(exported_dir / "model.tflite") == expected


def test_count_macs_refuses_a_non_tflite(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(UsageError, match="TFL3"):
        count_macs(bad)


def _require_csrc() -> None:
    if importlib.util.find_spec("export.csrc") is None:
        reason = "export.csrc (the C generator) is not on this branch yet"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _generated(exported_dir: Path, tmp: Path, tflite: str, base: str) -> Path:
    _require_csrc()
    from export.csrc import export_c

    out = tmp / "gen"
    out.mkdir(exist_ok=True)
    export_c(exported_dir / tflite, out, prefix="edgeport_model", base_name=base)
    return out / f"{base}.c"


@pytest.mark.parametrize("tflite, base", [("model.int8.tflite", "model.int8"), ("model.tflite", "model")])
def test_generated_mlp_on_cortex_m4_matches_host(toolchain, exported_dir, images, tmp_path, tflite, base):
    from export.csrc.host import read_api

    model_c = _generated(exported_dir, tmp_path, tflite, base)
    build = cross_compile(model_c, tmp_path / "arm")
    sizes = object_sizes(build.model_object)
    assert sizes["data"] == 0 and sizes["bss"] == 0 and sizes["weights"] > 266_000
    api = read_api(model_c.with_suffix(".h"))
    inputs = images if api["input_t"] == "uint8_t" else images.astype(np.float32) / np.float32(255.0)
    run = run_qemu(build.elf, inputs)
    host = host_outputs(model_c, inputs)
    assert run.verify == 0 and all(code < 0 for code in run.null_codes)
    assert run.scratch_bytes == api["SCRATCH_BYTES"] and 0 < run.peak_stack_bytes < 4096
    if base.endswith("int8"):
        assert np.array_equal(run.outputs, host), f"{(run.outputs != host).any(axis=1).sum()} rows differ"
    else:  # fp32: the same argmax; values within float rounding (newlib's expf, FMA contraction)
        assert np.array_equal(run.outputs.argmax(1), host.argmax(1))
        np.testing.assert_allclose(run.outputs, host, atol=1e-5)


def test_mcu_table_for_the_int8_mlp(toolchain, exported_dir, test_set):
    from benchmarks.mcu import mcu_markdown, mcu_table

    _require_csrc()  # the table generates the C when model.int8.c is not beside the .tflite
    rows = mcu_table([exported_dir / "model.int8.tflite"], images=test_set[0][:5])
    (row,) = rows
    assert row["fits"] and row["macs"] == 266_200 and row["verify"] == 0
    assert row["flash_bytes"] == row["weights_bytes"] + row["code_bytes"]
    assert 266_200 <= row["weights_bytes"] < 300_000  # one byte per weight, plus biases and tables
    assert row["ram_bytes"] == row["scratch_bytes"] + row["peak_stack_bytes"] and row["peak_stack_bytes"] > 0
    assert row["instructions_per_mac"] == round(row["instructions_per_inference"] / 266_200, 3)
    assert 0 < row["instructions_per_mac"] < 20
    assert row["core"] == "m4" and row["exact"] is True and row["mismatched_rows"] == 0
    assert row["tflm_arena_bytes"] > 1000 and row["tflm_model_bytes"] == (exported_dir / "model.int8.tflite").stat().st_size
    text = mcu_markdown(rows)
    assert "| model.int8.tflite |" in text and "instructions (not cycles)" in text.lower()


def test_mcu_table_refuses_a_folder_without_models(tmp_path):
    from benchmarks.mcu import mcu_table

    with pytest.raises(UsageError, match="model.int8.tflite"):
        mcu_table([tmp_path])


# A small CNN converted by TFLiteConverter (int8, uint8 I/O; 1 epoch on 3,000 test images, so only
# its arithmetic matters): Conv2D(8, 3, relu) -> DepthwiseConv2D(3, relu6) -> MaxPool(2) ->
# Conv2D(16, 3, stride 2, same, relu) -> AvgPool(2) -> Flatten -> Dense(10, softmax).
CNN = FIXTURES / "cnn.int8.tflite"
CNN_MACS = 3 * 3 * 1 * 8 * 26 * 26 + 3 * 3 * 8 * 24 * 24 + 3 * 3 * 8 * 16 * 6 * 6 + 144 * 10


def test_count_macs_of_conv_depthwise_and_dense():
    assert count_macs(CNN) == CNN_MACS == 133_056


def test_generated_cnn_on_cortex_m4_matches_host(toolchain, images, tmp_path):
    _require_csrc()
    from export.csrc import export_c

    model_c, _ = export_c(CNN, tmp_path, base_name="cnn.int8")
    build = cross_compile(model_c, tmp_path / "arm")
    run = run_qemu(build.elf, images)
    host = host_outputs(model_c, images)
    assert np.array_equal(run.outputs, host), f"{(run.outputs != host).any(axis=1).sum()} rows differ"
    assert run.verify == 0 and len(np.unique(run.outputs.argmax(1))) > 3


def test_benchmark_report_gets_the_mcu_section_only_when_asked():
    from benchmarks.report import _mcu_section

    row = {"model": "model.int8.tflite", "core": "m4", "cpu": "Cortex-M4F", "kernels": "DSP", "fits": True,
           "flash_bytes": 3, "weights_bytes": 2, "code_bytes": 1, "ram_bytes": 5, "scratch_bytes": 4,
           "peak_stack_bytes": 1, "instructions_per_inference": 40, "macs": 20, "instructions_per_mac": 2.0,
           "exact": True, "images": 2, "tflm_arena_bytes": None, "tflm_model_bytes": 9}
    refused = {**row, "core": "m0", "cpu": "Cortex-M0", "kernels": "portable", "fits": False,
               "flash_needed": 300_000, "flash_available": 262_144, "ram_needed": 4000, "ram_available": 16_384}
    assert _mcu_section({}) == [] and _mcu_section({"mcu": None}) == []
    text = "\n".join(_mcu_section({"mcu": [row, refused]}))
    assert "| model.int8.tflite | Cortex-M4F (DSP) | 3 (2 + 1) | 5 (4 + 1) | 40 | 20 | 2.0 | yes | — | 9 |" in text
    assert "| Cortex-M0 (portable) | does not fit: program needs 300,000 B flash of 262,144" in text
    assert "`mps2-an386`" in text and "`microbit`" in text
