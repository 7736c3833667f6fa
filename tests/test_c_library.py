"""The library folder ``--format c`` writes: built with CMake on the host (example run) and for a
Cortex-M with the shipped arm-none-eabi toolchain file. Real CMake, compilers and generated C;
without a tool the test skips with the reason, except in CI (CI=true), where it fails."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from export.c_library import install_folder, write_c_library

SMALL_MLP = Path(__file__).parent / "fixtures" / "mcu" / "small_mlp.int8.tflite"


def require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        reason = f"missing {', '.join(missing)} (./.ci/install-mcu-tools installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture()
def library(tmp_path) -> Path:
    from export.csrc import export_c

    c_path, _ = export_c(SMALL_MLP, tmp_path / "gen", prefix="garment", base_name="model.int8")
    return write_c_library(tmp_path / "model.int8", c_path, prefix="garment", source="model.int8.tflite")


def _cmake(source: Path, build: Path, *extra: str) -> None:
    for cmd in (["cmake", "-S", str(source), "-B", str(build), *extra], ["cmake", "--build", str(build)]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"{' '.join(cmd)}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"


def test_layout_and_descriptions(library):
    names = sorted(str(p.relative_to(library)) for p in library.rglob("*") if p.is_file())
    assert names == ["CMakeLists.txt", "cmake/arm-none-eabi.cmake", "example/main.c", "library.json",
                     "library.properties", "src/model.int8.c", "src/model.int8.h"]
    assert (library / "src/model.int8.c").read_bytes() == (library.parent / "gen/model.int8.c").read_bytes()
    props = dict(line.split("=", 1) for line in (library / "library.properties").read_text().splitlines())
    assert props["name"] == "garment" and props["includes"] == "model.int8.h"
    meta = json.loads((library / "library.json").read_text())
    assert meta["name"] == "garment" and meta["build"]["srcDir"] == "src"
    text = "".join(p.read_text() for p in library.rglob("*") if p.is_file())
    assert "@" not in text.replace("@brief", ""), "a placeholder was left unfilled"
    assert "garment_verify()" in (library / "example/main.c").read_text()


def test_cmake_host_build_runs_the_example(library, tmp_path):
    require("cmake", "cc")
    _cmake(library, tmp_path / "build")
    out = subprocess.run([str(tmp_path / "build" / "garment_example")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() in {f"class_{i}" for i in range(10)} | {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
    assert (tmp_path / "build" / "libgarment.a").is_file()


def test_cmake_arm_none_eabi_build(library, tmp_path):
    require("cmake", "arm-none-eabi-gcc", "arm-none-eabi-objdump")
    _cmake(library, tmp_path / "arm", f"-DCMAKE_TOOLCHAIN_FILE={library / 'cmake/arm-none-eabi.cmake'}")
    lib, example = tmp_path / "arm" / "libgarment.a", tmp_path / "arm" / "garment_example"
    head = subprocess.run(["arm-none-eabi-objdump", "-f", str(example)], capture_output=True, text=True).stdout
    assert lib.is_file() and "elf32-littlearm" in head
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(lib)], capture_output=True, text=True).stdout
    assert "Cortex-M4" in attrs or "v7E-M" in attrs


def test_used_from_a_parent_project_with_add_subdirectory(library, tmp_path):
    require("cmake", "cc")
    app = tmp_path / "app"
    app.mkdir()
    shutil.copytree(library, app / "model.int8")
    (app / "main.c").write_text('#include "model.int8.h"\nint main(void) { return garment_verify(); }\n')
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\nadd_executable(app main.c)\n"
        "add_subdirectory(model.int8)\ntarget_link_libraries(app PRIVATE garment)\n")
    _cmake(app, tmp_path / "build")
    assert subprocess.run([str(tmp_path / "build" / "app")], timeout=60).returncode == 0
    assert not (tmp_path / "build" / "model.int8" / "garment_example").exists()  # no example in a parent


def test_install_folder_replaces_an_old_one(tmp_path):
    for content in ("old", "new"):
        staged = tmp_path / f"staged-{content}"
        staged.mkdir()
        (staged / "f").write_text(content)
        install_folder(staged, tmp_path / "lib")
    assert (tmp_path / "lib" / "f").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["lib"]
