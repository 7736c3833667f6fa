"""`--format c` from the user's side: odd output folders, signing, reproducible bytes (real
converter, real host compiler)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from export.__main__ import main as export_main
from export.csrc.host import find_cc
from tests import zoo


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(model.keras, data.npz) of the smallest real model: one Dense unit over 4 features."""
    if find_cc() is None:  # --format c compiles and runs what it generates
        if os.environ.get("CI"):
            pytest.fail("a C compiler (cc/gcc/clang) is required in CI")
        pytest.skip("no C compiler (cc/gcc/clang) on this machine")
    return zoo.summing_regressor(tmp_path_factory.mktemp("tiny"))


def _export_c(tiny, out: Path, *extra: str) -> int:
    model, data = tiny
    return export_main(["--model", str(model), "--data", str(data), "--format", "c", "--output", str(out),
                        "-q", *extra])


def test_output_folder_with_quote_and_newline(tiny, tmp_path):
    out = tmp_path / 'say "hi"\nthere'
    assert _export_c(tiny, out) == 0
    assert (out / "model.c").is_file() and (out / "model.h").is_file()
    assert '#include "model.h"' in (out / "model.c").read_text()


def test_sign_key_signs_the_c_files_detached(tiny, tmp_path):
    """--sign-key with --format c: model.c.sig and model.h.sig, checkable with openssl alone."""
    import shutil
    import subprocess

    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    pub = tmp_path / "pub.pem"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    out = tmp_path / "signed"
    assert _export_c(tiny, out, "--sign-key", str(pem)) == 0
    for name in ("model.c", "model.h"):
        key.public_key().verify((out / f"{name}.sig").read_bytes(), (out / name).read_bytes())
        if shutil.which("openssl"):  # the check docs/embedded.md gives
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin",
                   "-in", str(out / name), "-sigfile", str(out / f"{name}.sig")]
            assert subprocess.run(cmd, capture_output=True).returncode == 0
    tampered = (out / "model.c").read_bytes().replace(b"#include", b"#include ", 1)
    with pytest.raises(InvalidSignature):
        key.public_key().verify((out / "model.c.sig").read_bytes(), tampered)
    assert _export_c(tiny, out) == 0  # unsigned again: no stale signature stays beside the new file
    assert not list(out.glob("*.sig"))


@pytest.mark.slow  # two processes export every format and mode
def test_two_identical_runs_give_identical_bytes(tiny, tmp_path):
    """Every artifact, C and TFLM included, from two processes (pids differ: no temporary name
    may leak into a file)."""
    import subprocess
    import sys

    model, data = tiny
    repo = Path(__file__).resolve().parents[1]
    script = "import sys; from pathlib import Path; from tests.zoo import export_everything; " \
             "export_everything(*map(Path, sys.argv[1:]))"
    other = subprocess.Popen([sys.executable, "-c", script, str(model), str(data), str(tmp_path / "b")],
                             cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    zoo.export_everything(model, data, tmp_path / "a")
    log, _ = other.communicate(timeout=600)
    assert other.returncode == 0, log[-3000:]
    # every file, the C library folders' included
    names = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(tmp_path / "b")) for p in (tmp_path / "b").rglob("*") if p.is_file())
    for suffix in (".onnx", ".tflite", ".c", ".h", ".cc", "CMakeLists.txt"):
        assert any(n.endswith(suffix) for n in names), (suffix, names)
    differ = [n for n in names if (tmp_path / "a" / n).read_bytes() != (tmp_path / "b" / n).read_bytes()]
    assert differ == []


@pytest.fixture(scope="module")
def tiny_tflite(tiny, tmp_path_factory) -> Path:
    from export import run_export

    model, data = tiny
    out = tmp_path_factory.mktemp("tiny_tflite")
    run_export(model, fmt="tflite", data=data, output_dir=out)
    return out / "model.tflite"


@pytest.mark.parametrize("prefix, ok", [
    ("int", True), ("Garment", True), ("model", True), ("a1_b2", True), ("x", True),
    ("_", False), ("_stdint", False), ("__x", False), ("x__y", False), ("model_", False), ("", False),
    ("9lives", False), ("my-model", False), ("a b", False), ("caf\u00e9", False), (None, False),
])
def test_one_prefix_rule_for_c_and_tflm(prefix, ok):
    from export.csrc import CPrefixError, check_prefix
    from export.tflm import check_prefix as tflm_check_prefix

    assert tflm_check_prefix is check_prefix  # one rule
    if ok:
        assert check_prefix(prefix) == prefix
    else:
        with pytest.raises(CPrefixError, match="is not a C identifier prefix edgeport can use"):
            check_prefix(prefix)


def test_include_guards_are_unique_and_prefix_int_compiles(tiny_tflite, tmp_path):
    """`garment` and `Garment`, `config` beside a user's CONFIG_H, and `int`: one strict C99 program."""
    import re
    import subprocess

    from export.csrc import export_c
    from export.csrc.host import find_cc

    fixtures = Path(__file__).parent / "fixtures" / "c"
    models = {"config": "config_model", "garment": "lower", "Garment": "upper", "int": "int_model"}
    sources, guards = [], set()
    for prefix, base in models.items():
        c_path, h_path = export_c(tiny_tflite, tmp_path, prefix=prefix, base_name=base)
        sources.append(str(c_path))
        guard = re.search(r"#ifndef (\w+)\n#define \1\n", h_path.read_text()).group(1)
        assert re.fullmatch(rf"{prefix.upper()}_H_[0-9A-F]{{8}}", guard), guard
        guards.add(guard)
    assert len(guards) == len(models)
    again, _ = export_c(tiny_tflite, tmp_path / "again", prefix="garment", base_name="lower")
    assert again.with_suffix(".h").read_bytes() == (tmp_path / "lower.h").read_bytes()  # same content, same guard
    exe = tmp_path / "two_models"
    cmd = [find_cc(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(tmp_path), "-I",
           str(fixtures), "-o", str(exe), str(fixtures / "two_models.c"), *sources, "-lm"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.split() == ["0", "42", "10", "10", "10", "10"], run.stdout


@pytest.fixture(scope="module")
def tiny_c(tiny, tmp_path_factory) -> Path:
    """model.c/.h (fp32, no scratch) and model.int8.c/.h of the tiny model, validated by export."""
    out = tmp_path_factory.mktemp("tiny_c")
    assert _export_c(tiny, out, "--quantize", "none,int8") == 0
    return out


@pytest.fixture(scope="module")
def tiny_mlp_c(tiny, tmp_path_factory) -> Path:
    """fp32 model.c/.h of an untrained 4 -> 8 -> 1 MLP: its hidden floats live in scratch (aligned)."""
    import keras

    keras.utils.set_random_seed(3)
    out = tmp_path_factory.mktemp("tiny_mlp_c")
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                      keras.layers.Dense(1)]).save(out / "model.keras")
    assert export_main(["--model", str(out / "model.keras"), "--data", str(tiny[1]), "--format", "c",
                        "--output", str(out), "-q"]) == 0
    return out


@pytest.mark.parametrize("base, float_scratch", [("model", False), ("model.int8", False), ("mlp", True)])
def test_invoke_checks_overlap_alignment_and_the_scratch_macro(tiny_c, tiny_mlp_c, tmp_path, base, float_scratch):
    """Same or overlapping input/output/scratch -> ERROR_OVERLAP; the header's SCRATCH macro
    compiles under -pedantic even when SCRATCH_BYTES is 0; every return code is a named macro."""
    import subprocess

    from export.csrc.host import find_cc, read_api

    folder = tiny_mlp_c if base == "mlp" else tiny_c
    name = "model" if base == "mlp" else base
    api = read_api(folder / f"{name}.h")
    assert (api["SCRATCH_BYTES"] == 0) == (base == "model")  # both cases covered
    assert f"#define {api['prefix'].upper()}_SCRATCH_ALIGNMENT {4 if float_scratch else 1}" in \
        (folder / f"{name}.h").read_text()
    fixture = Path(__file__).parent / "fixtures" / "c" / "invoke_checks.c"
    exe = tmp_path / "checks"
    cmd = [find_cc(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(folder),
           f'-DEP_HEADER="{name}.h"', f"-DEP_PREFIX={api['prefix']}", f"-DEP_PREFIX_UPPER={api['prefix'].upper()}",
           "-o", str(exe), str(fixture), str(folder / f"{name}.c"), "-lm"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stdout


def test_binary_model_keeps_its_two_class_names_in_c(tiny, tmp_path, caplog):
    """One sigmoid unit, class_names ['benign', 'malignant']: both reach the C, with no warning;
    a regression model gets no names and no warning either."""
    import ctypes
    import logging

    import keras
    import numpy as np

    from export.csrc.host import HostCModel

    keras.utils.set_random_seed(5)
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")]).save(tmp_path / "model.keras")
    x = np.load(tiny[1])["x_calibration"]
    np.savez(tmp_path / "data.npz", x_test=x[:64], y_test=(x[:64, 0] > 0).astype(np.int64), x_calibration=x[64:],
             class_names=np.array(["benign", "malignant"]))
    caplog.set_level(logging.WARNING)
    assert export_main(["--model", str(tmp_path / "model.keras"), "--data", str(tmp_path / "data.npz"),
                        "--format", "c", "--quantize", "none,int8", "--output", str(tmp_path), "-q"]) == 0
    assert not [r for r in caplog.records if "class names" in r.getMessage()], caplog.text
    for base in ("model", "model.int8"):
        header = (tmp_path / f"{base}.h").read_text()
        assert "#define EDGEPORT_MODEL_CLASS_COUNT 2" in header
        assert "edgeport_model_class_names[EDGEPORT_MODEL_CLASS_COUNT];" in header
        compiled = HostCModel(tmp_path / f"{base}.c")
        try:
            names = (ctypes.c_char_p * 2).in_dll(compiled._lib, "edgeport_model_class_names")
            assert [n.decode() for n in names] == ["benign", "malignant"]
        finally:
            compiled.close()
    regression = tmp_path / "regression"
    assert _export_c(tiny, regression) == 0
    assert not [r for r in caplog.records if "class names" in r.getMessage()], caplog.text
    header = (regression / "model.h").read_text()
    assert "#define EDGEPORT_MODEL_CLASS_COUNT 0" in header and "_class_names[" not in header
