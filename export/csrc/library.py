"""The kernel library: the C files in ``kernels/``, split into units that are emitted on demand.

Each file holds top-level items (a function, a struct, a ``#define`` or an ``#if`` block) separated
by blank lines; each item is a unit, led by its own comment. A file's first item may be a comment
alone: it describes the file and is not emitted. A unit depends on every unit that defines an
identifier it uses, so the emitter copies exactly what a model calls, in dependency order, and the
generated file has no unused static function. ``prelude.h`` opens every generated file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

KERNEL_DIR = Path(__file__).parent / "kernels"
PRELUDE = "prelude.h"

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DEFINE = re.compile(r"^#define\s+(\w+)", re.M)
_STRUCT = re.compile(r"^struct\s+(\w+)\s*\{", re.M)
_ENUM = re.compile(r"^enum\s*\w*\s*\{([^}]*)\}", re.M)
_FUNCTION = re.compile(r"^(?!#)[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\(", re.M)
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")


class KernelLibraryError(RuntimeError):
    """A kernel file breaks the library's layout rules (a bug in edgeport, not in the model)."""


@dataclass(frozen=True)
class Unit:
    """One emitted top-level item of a kernel file."""

    file: str                 # path under kernels/, e.g. "fully_connected.c"
    names: tuple[str, ...]    # identifiers it defines
    text: str                 # C text, comment included
    uses: frozenset[str]      # identifiers it mentions outside comments


def _mask_comments(text: str) -> str:
    """``text`` with every comment blanked out, line breaks kept."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def split_units(file: str, text: str) -> list[Unit]:
    """Cut a kernel file into units at blank lines outside braces and ``#if`` blocks."""
    masked = _mask_comments(text)
    units, start, depth, pp = [], 0, 0, 0
    lines, masked_lines = text.split("\n"), masked.split("\n")

    def close(end: int) -> None:
        chunk = "\n".join(lines[start:end]).strip("\n")
        code = "\n".join(masked_lines[start:end])
        if not chunk.strip():
            return
        enums = [n.split("=")[0].strip() for body in _ENUM.findall(code) for n in body.split(",") if n.strip()]
        names = tuple(dict.fromkeys(_DEFINE.findall(code) + _STRUCT.findall(code) + enums +
                                    (_FUNCTION.findall(code) if "{" in code else [])))
        if not names:
            if units or code.strip():
                raise KernelLibraryError(f"kernels/{file}: an item defines nothing:\n{chunk[:200]}")
            return  # the file's leading description
        units.append(Unit(file, names, chunk + "\n", frozenset(_IDENT.findall(code)) - set(names)))

    for i, line in enumerate(masked_lines):
        stripped = line.strip()
        if stripped.startswith("#if"):
            pp += 1
        elif stripped.startswith("#endif"):
            pp -= 1
        depth += line.count("{") - line.count("}")
        if not stripped and depth == 0 and pp == 0:
            close(i)
            start = i + 1
    close(len(lines))
    if depth or pp:
        raise KernelLibraryError(f"kernels/{file}: unbalanced braces or #if blocks")
    return units


@dataclass(frozen=True)
class Library:
    """Every kernel unit, indexed by the names it defines."""

    units: tuple[Unit, ...]
    by_name: dict

    def unit(self, name: str) -> Unit:
        try:
            return self.by_name[name]
        except KeyError:
            raise KernelLibraryError(f"no kernel defines {name!r} (kernels/*.c)") from None

    def deps(self, unit: Unit) -> list[Unit]:
        found = {id(self.by_name[n]): self.by_name[n] for n in sorted(unit.uses) if n in self.by_name}
        return [u for u in found.values() if u is not unit]

    def collect(self, names: list[str]) -> list[Unit]:
        """The units defining ``names`` and everything they use, each after its dependencies;
        the prelude comes first."""
        order: list[Unit] = []
        seen: set[int] = set()

        def visit(unit: Unit, path: tuple[str, ...]) -> None:
            if id(unit) in seen:
                return
            if unit.names[0] in path:
                raise KernelLibraryError(f"kernel dependency cycle: {' -> '.join(path + (unit.names[0],))}")
            for dep in self.deps(unit):
                visit(dep, path + (unit.names[0],))
            seen.add(id(unit))
            order.append(unit)

        for unit in self.prelude():
            visit(unit, ())
        for name in names:
            visit(self.unit(name), ())
        return order

    def prelude(self) -> list[Unit]:
        return [u for u in self.units if u.file == PRELUDE]

    def files(self) -> list[str]:
        return sorted({u.file for u in self.units})


def load_library(root: Path = KERNEL_DIR) -> Library:
    """Read and split every ``*.c`` / ``*.h`` under ``root`` (sub-folders included), sorted by path."""
    units: list[Unit] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".c", ".h")):
        units += split_units(path.relative_to(root).as_posix(), path.read_text(encoding="ascii"))
    by_name: dict[str, Unit] = {}
    for unit in units:
        for name in unit.names:
            if name in by_name:
                raise KernelLibraryError(f"{name!r} is defined in kernels/{by_name[name].file} "
                                         f"and kernels/{unit.file}")
            by_name.setdefault(name, unit)
    return Library(tuple(units), by_name)


@lru_cache(maxsize=1)
def library() -> Library:
    """The installed kernel library, read once."""
    return load_library()
