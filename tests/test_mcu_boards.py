"""Every core of the board table: generated C cross-compiled and run on its QEMU board.

Real cross compilers (arm-none-eabi-gcc with newlib, riscv64-unknown-elf-gcc with picolibc), real
QEMU boards and the real tflite-micro interpreter. Without a board's tools its tests skip with the
reason, except in CI (CI=true), where they fail. Each run uses a few inputs to stay fast.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.errors import UsageError
from benchmarks.mcu import BOARDS, DoesNotFitError, QemuRunError, cross_compile, missing_tools, parse_cores, run_qemu
from benchmarks.mcu.reference import tflm_outputs
from tests.tools import MCU_FIXTURES as FIXTURES, copy_tiny_dense, host_outputs, require_board, write_loop_model

# Flatten -> Dense(16, relu) -> Dense(10, softmax), int8 with uint8 I/O: Keras, 1 epoch on 3,000
# Fashion-MNIST test images (seed 8), TFLiteConverter with 200 calibration images. Small enough
# for the Cortex-M0's 256 KB of flash and 16 KB of RAM.
SMALL_MLP = FIXTURES / "small_mlp.int8.tflite"
CNN = FIXTURES / "cnn.int8.tflite"
N_INPUTS = 8
CORES = list(BOARDS)


@pytest.fixture(scope="module")
def images(test_set) -> np.ndarray:
    return test_set[0][:N_INPUTS].reshape(N_INPUTS, -1)


def _generate(tflite: Path, out: Path) -> Path:
    from export.csrc import export_c

    c_path, _ = export_c(tflite, out, base_name=tflite.name[: -len(".tflite")])
    return c_path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("generated")
    return {path.name: _generate(path, out) for path in (SMALL_MLP, CNN)}


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("model", [SMALL_MLP.name, CNN.name])
def test_generated_model_on_every_core_equals_tflite_micro(core, model, generated, images, tmp_path):
    require_board(core)
    model_c = generated[model]
    build = cross_compile(model_c, tmp_path / core, core=core)
    assert build.program_flash <= BOARDS[core].flash_bytes and build.program_ram <= BOARDS[core].ram_bytes
    run = run_qemu(build.elf, images, core=core)
    tflm = tflm_outputs(FIXTURES / model, images)
    assert run.outputs.dtype == np.uint8 and run.outputs.shape == tflm.shape == (N_INPUTS, 10)
    assert np.array_equal(run.outputs, tflm), f"{(run.outputs != tflm).any(axis=1).sum()} rows differ from TFLM"
    assert np.array_equal(run.outputs, host_outputs(model_c, images))
    assert len(np.unique(run.outputs, axis=0)) > N_INPUTS // 2  # real, varied outputs
    assert run.verify == 0 and all(code < 0 for code in run.null_codes)
    assert np.all(run.instructions > 1_000)


@pytest.mark.parametrize("core", CORES)
def test_counter_counts_instructions(core, tmp_path):
    """A 2-instruction loop run 1,000,000 times reads 2,000,000 instructions, to within one counter
    tick (SysTick: 1e9 / its clock in Hz) plus the dozen instructions around the loop."""
    require_board(core)
    build = cross_compile(write_loop_model(tmp_path, 1_000_000), tmp_path / "build", core=core)
    run = run_qemu(build.elf, np.array([[7], [9]], dtype=np.uint8), core=core)
    assert run.outputs.ravel().tolist() == [7, 9]
    slack = float(BOARDS[core].instructions_per_tick) + 16
    assert np.all(np.abs(run.instructions - 2_000_000) <= slack), run.instructions


def _tiny_dense(tmp: Path, scratch_bytes: int) -> Path:
    return copy_tiny_dense(tmp, lambda name, text: text.replace("#define TINY_SCRATCH_BYTES 49",
                                                                f"#define TINY_SCRATCH_BYTES {scratch_bytes}"))


def test_m0_refuses_a_program_that_needs_more_ram(tmp_path):
    require_board("m0")
    with pytest.raises(DoesNotFitError, match=r"does not fit on Cortex-M0 \(microbit\): RAM needs") as info:
        cross_compile(_tiny_dense(tmp_path, 20_000), tmp_path / "m0", core="m0")
    assert info.value.ram_needed > 20_000 + 2048 and info.value.flash_needed < 256 * 1024
    assert "16,384" in str(info.value)
    cross_compile(_tiny_dense(tmp_path, 8_000), tmp_path / "m0-fits", core="m0")  # fits


@pytest.fixture(scope="module")
def mlp_c(exported_dir, tmp_path_factory) -> Path:
    return _generate(exported_dir / "model.int8.tflite", tmp_path_factory.mktemp("mlp"))


@pytest.mark.parametrize("core", CORES)
def test_generated_mlp_on_every_core(core, mlp_c, exported_dir, images, tmp_path):
    """The 784-300-100-10 int8 MLP (266,200 weights) gives TFLite Micro's bytes on every core that
    has room for it; the microbit's 256 KB of flash do not hold it, and it says so."""
    require_board(core)
    if core == "m0":
        with pytest.raises(DoesNotFitError, match="flash needs") as info:
            cross_compile(mlp_c, tmp_path / core, core=core)
        assert info.value.flash_needed > 266_200 > BOARDS[core].flash_bytes
        return
    build = cross_compile(mlp_c, tmp_path / core, core=core)
    run = run_qemu(build.elf, images[:4], core=core)
    assert np.array_equal(run.outputs, tflm_outputs(exported_dir / "model.int8.tflite", images[:4]))


def test_parse_cores_is_checked():
    assert [b.core for b in parse_cores("m0, m55,m0,rv32")] == ["m0", "m55", "rv32"]
    with pytest.raises(UsageError, match="'m9'"):
        parse_cores("m4,m9")
    with pytest.raises(UsageError, match="comma-separated"):
        parse_cores(" , ")


@pytest.mark.parametrize("argv, message", [
    (["--core", "m0"], "--core needs --mcu"),
    (["--mcu", "--core", "m4,x"], "unknown core(s) 'x'"),
])
def test_cli_refuses_bad_cores_before_any_work(argv, message, tmp_path, capsys):
    from benchmarks.__main__ import main

    assert main([*argv, "--model-dir", str(tmp_path / "none"), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and not (tmp_path / "out").exists()


def test_mcu_table_has_a_row_per_core(tmp_path):
    from benchmarks.mcu import mcu_markdown, mcu_table

    cores = [c for c in ("m0", "rv32") if not missing_tools(c)]
    if len(cores) < 2:
        require_board("m0")
        require_board("rv32")
    shutil.copy(SMALL_MLP, tmp_path / SMALL_MLP.name)
    images = np.random.default_rng(1).integers(0, 256, size=(3, 784), dtype=np.uint8)
    rows = mcu_table([tmp_path / SMALL_MLP.name], images=images, cores=cores)
    assert [r["core"] for r in rows] == cores and all(r["fits"] and r["exact"] for r in rows)
    assert rows[0]["macs"] == 784 * 16 + 16 * 10 and rows[0]["instructions_per_mac"] > 1
    text = mcu_markdown(rows)
    assert "| small_mlp.int8.tflite | Cortex-M0 (portable) |" in text and "RV32IMC (portable)" in text
    assert "| yes |" in text


def test_helium_path_on_the_m55(generated, images, tmp_path):
    """The M55 build runs the MVE kernels (VLD4 and VMLADAVA in the model object), gets the bytes of its own
    portable build and of TFLite Micro, and needs at most half the M4's instructions per MAC."""
    import subprocess

    require_board("m55")
    model_c = generated[SMALL_MLP.name]
    mve = cross_compile(model_c, tmp_path / "m55", core="m55")
    portable = cross_compile(model_c, tmp_path / "m55-portable", core="m55", opt_flags=("-O2", "-DEDGEPORT_PORTABLE"))
    m4 = cross_compile(model_c, tmp_path / "m4", core="m4")
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", str(mve.model_object)],
                                 capture_output=True, text=True, check=True).stdout
    assert "vmlava.s8" in disassembly and "vld40.32" in disassembly  # VMLAVA: the VMLADAVA alias
    runs = {name: run_qemu(b.elf, images, core=b.board.core) for name, b in
            (("mve", mve), ("portable", portable), ("m4", m4))}
    assert np.array_equal(runs["mve"].outputs, runs["portable"].outputs)
    assert np.array_equal(runs["mve"].outputs, tflm_outputs(SMALL_MLP, images))
    assert runs["mve"].instructions_per_inference <= 0.5 * runs["m4"].instructions_per_inference
    assert runs["portable"].instructions_per_inference > runs["m4"].instructions_per_inference


def test_helium_convolutions_on_the_m55(mlperf_dir, tmp_path):
    """MLPerf KWS (convolutions, depthwise): the M55 runs the conv blocks on Helium (VMLADAVA.s8 in
    the model object), equals TFLite Micro and needs well under the M4's instructions (measured
    0.52x; before the Helium conv branch the DSP conv kernels made the M55 1.15x the M4)."""
    import subprocess

    require_board("m55")
    require_board("m4")
    tflite = mlperf_dir / "kws_ref_model.tflite"
    model_c = _generate(tflite, tmp_path / "c")
    mve = cross_compile(model_c, tmp_path / "m55", core="m55")
    m4 = cross_compile(model_c, tmp_path / "m4", core="m4")
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", str(mve.model_object)],
                                 capture_output=True, text=True, check=True).stdout
    assert "vmlava.s8" in disassembly  # VMLADAVA (alias VMLAVA) over the int8 patch slots
    inputs = np.random.default_rng(3).integers(-128, 128, size=(3, 49 * 10), dtype=np.int8)
    runs = {b.board.core: run_qemu(b.elf, inputs, core=b.board.core) for b in (mve, m4)}
    tflm = tflm_outputs(tflite, inputs)
    assert np.array_equal(runs["m55"].outputs, tflm) and np.array_equal(runs["m4"].outputs, tflm)
    assert runs["m55"].instructions_per_inference <= 0.55 * runs["m4"].instructions_per_inference


@pytest.mark.parametrize("core, fault", [("m0", "HardFault"), ("m55", "HardFault"), ("rv32", "illegal instruction")])
def test_a_fault_ends_the_run_with_its_name(core, fault, images, tmp_path):
    """An undefined instruction in invoke: the startup's handler reports it and QEMU exits 1."""
    require_board(core)
    model_c = _tiny_dense(tmp_path, 49)
    model_c.write_text(model_c.read_text().replace(
        "    int8_t *features = (int8_t *)scratch;",
        "#if defined(__riscv)\n    __asm__ volatile(\"unimp\");\n#else\n    __asm__ volatile(\"udf #0\");\n#endif\n"
        "    int8_t *features = (int8_t *)scratch;"))
    build = cross_compile(model_c, tmp_path / core, core=core)
    with pytest.raises(QemuRunError, match=f"exit 1 .*fault: {fault}"):
        run_qemu(build.elf, images[:1], core=core, timeout=60)


def test_mcu_cli_prints_the_table_per_core(capsys, tmp_path):
    from benchmarks.__main__ import main

    require_board("rv32")
    require_board("m0")
    assert main(["--mcu", "--core", "rv32,m0", str(SMALL_MLP), "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "| small_mlp.int8.tflite | RV32IMC (portable) |" in out and "| Cortex-M0 (portable) |" in out
    assert out.count("| yes |") == 2 and (tmp_path / "out" / "mcu.md").is_file()
