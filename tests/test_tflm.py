"""``--format tflm``: the .tflite as a C array with the TFLite Micro arena measured by tflite-micro."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.errors import ConversionError, ExportError
from export.tflm import check_prefix, export_tflm


def _macro(header: Path, name: str) -> int:
    match = re.search(rf"#define {name} (\d+)u", header.read_text())
    assert match, f"{name} missing from {header.name}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def tflm_int8(exported_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return export_tflm(exported_dir / "model.int8.tflite", tmp_path_factory.mktemp("tflm"))


def test_array_holds_the_tflite_bytes(tflm_int8, exported_dir):
    cc, h = tflm_int8
    assert (cc.name, h.name) == ("model.int8.tflm.cc", "model.int8.tflm.h")
    data = (exported_dir / "model.int8.tflite").read_bytes()
    assert _macro(h, "EDGEPORT_MODEL_TFLM_MODEL_BYTES") == len(data)
    text = cc.read_text()
    assert "alignas(16) const unsigned char edgeport_model_tflite[" in text
    body = text[text.index("{") + 1:text.rindex("}")]
    assert bytes(int(v, 16) for v in re.findall(r"0x([0-9a-f]{2})", body)) == data
    assert not list(cc.parent.glob(".tmp-*"))


def test_cc_compiles_as_cpp_with_the_array_exported(tflm_int8, tmp_path):
    cxx = shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        if os.environ.get("CI"):
            pytest.fail("no C++ compiler (c++/g++) to compile the .cc")
        pytest.skip("no C++ compiler (c++/g++) to compile the .cc")
    cc, _ = tflm_int8
    obj = tmp_path / "model.o"
    subprocess.run([cxx, "-std=c++11", "-Wall", "-Werror", "-c", str(cc), "-o", str(obj)], check=True)
    symbols = subprocess.run(["nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    line = next(s for s in symbols.splitlines() if s.endswith(" edgeport_model_tflite"))
    addr, size, kind = line.split()[:3]
    assert kind == "R" and int(size, 16) == _macro(cc.with_suffix(".h"), "EDGEPORT_MODEL_TFLM_MODEL_BYTES")
    assert int(addr, 16) % 16 == 0


def test_arena_macro_is_the_smallest_that_runs(tflm_int8, exported_dir, test_set):
    """TFLite Micro runs the model in exactly the arena the header names, with the same outputs
    as in a huge arena, and fails to allocate 16 bytes below it."""
    from tflite_micro.python.tflite_micro import runtime

    _, h = tflm_int8
    arena, used = _macro(h, "EDGEPORT_MODEL_TFLM_ARENA_BYTES"), _macro(h, "EDGEPORT_MODEL_TFLM_ARENA_USED_BYTES")
    assert arena % 16 == 0 and used <= arena < 4 * used
    path = str(exported_dir / "model.int8.tflite")
    images = test_set[0][:20]
    outputs = []
    for size in (arena, 1 << 22):
        it = runtime.Interpreter.from_file(path, arena_size=size)
        rows = []
        for img in images:
            it.set_input(img[None], 0)
            it.invoke()
            rows.append(it.get_output(0).copy())
        outputs.append(np.concatenate(rows))
    assert np.array_equal(outputs[0], outputs[1])
    # one size below: refused (a child process, since TFLM may crash instead of refusing)
    from export.tflm import _probe
    assert _probe(Path(path), arena - 16, crash_means_too_small=True) is None


@pytest.mark.parametrize("prefix", ["1model", "my-model", "", "_x", "a b"])
def test_bad_prefix_is_refused(prefix, tmp_path):
    with pytest.raises(ExportError, match="C identifier"):
        export_tflm(tmp_path / "unused.tflite", tmp_path, prefix=prefix)
    assert check_prefix("my_model2") == "my_model2"


def test_not_a_tflite_is_refused_and_nothing_written(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="TFL3"):
        export_tflm(bad, out)
    assert not out.exists() or not any(out.iterdir())


def test_corrupt_tflite_is_refused_and_nothing_written(exported_dir, tmp_path):
    data = bytearray((exported_dir / "model.int8.tflite").read_bytes())
    data[8:len(data) // 2] = b"\xff" * (len(data) // 2 - 8)  # keeps the TFL3 identifier
    bad = tmp_path / "corrupt.tflite"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(ConversionError):
        export_tflm(bad, out)
    assert not out.exists() or not any(out.iterdir())
