"""The build glue ``--format c`` writes beside the C: a library folder MCU projects consume.

``<base>/`` holds ``src/<base>.c`` and ``src/<base>.h`` (copies of the validated files), a
``CMakeLists.txt`` defining the static library target ``<prefix>`` (for CMake and Zephyr), the
Arduino (``library.properties``) and PlatformIO (``library.json``) descriptions, a minimal
``example/main.c`` that calls ``<prefix>_verify()`` and ``<prefix>_invoke()``, and
``cmake/arm-none-eabi.cmake``, a toolchain file for Cortex-M builds. The files are the real files
in ``export/templates/c_library`` with ``@NAME@`` placeholders filled in.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path

TEMPLATES = "templates/c_library"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def _templates() -> list[tuple[str, str]]:
    """(relative path, text) of every template file."""
    root = resources.files(__package__).joinpath(TEMPLATES)
    found, stack = [], [(root, "")]
    while stack:
        node, rel = stack.pop()
        for child in node.iterdir():
            path = f"{rel}{child.name}"
            if child.is_dir():
                stack.append((child, path + "/"))
            else:
                found.append((path, child.read_text(encoding="utf-8")))
    return sorted(found)


def _fill(text: str, values: dict[str, str], where: str) -> str:
    def one(match: re.Match) -> str:
        try:
            return values[match.group(1)]
        except KeyError as e:
            raise ValueError(f"{where}: unknown placeholder @{match.group(1)}@") from e

    return _PLACEHOLDER.sub(one, text)


def write_c_library(folder: str | Path, c_path: str | Path, *, prefix: str, source: str) -> Path:
    """Write the library folder for ``c_path`` (its header beside it) into ``folder``, which must
    not exist yet (a staging folder: the caller renames it into place). ``prefix`` is the C API
    prefix; ``source`` names the .tflite the C came from. Returns ``folder``."""
    folder, c_path = Path(folder), Path(c_path)
    base = c_path.name[: -len(".c")]
    source = _UNSAFE.sub("_", source)  # it lands in comments, properties and JSON strings
    c_text = c_path.read_text(encoding="ascii")
    values = {"PREFIX": prefix, "PREFIX_UPPER": prefix.upper(), "BASE": base, "SOURCE": source,
              "NEEDS_LIBM": "ON" if "<math.h>" in c_text else "OFF"}
    folder.mkdir()
    (folder / "src").mkdir()
    for path in (c_path, c_path.with_suffix(".h")):
        shutil.copyfile(path, folder / "src" / path.name)
    for rel, text in _templates():
        if rel.endswith(".json"):  # JSON-escape what goes into its strings
            filled = _fill(text, {k: json.dumps(v)[1:-1] for k, v in values.items()}, rel)
            json.loads(filled)
        else:
            filled = _fill(text, values, rel)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(filled, encoding="utf-8")
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return folder


def install_folder(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target``; an existing ``target`` is moved aside first and removed
    only once the new folder is in place."""
    if not target.exists():
        os.replace(staged, target)
        return
    old = target.with_name(f".tmp-{os.getpid()}-old-{target.name}")
    os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
