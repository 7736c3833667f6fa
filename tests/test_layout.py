"""The package rules of docs/development.md, checked on the source (fast, no imports run)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("train", "export", "runtime", "benchmarks")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every absolute import in ``path``, at any depth; ``from a import b``
    gives ``a.b`` so that ``from runtime import _onnx`` counts as a module import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def test_no_package_imports_another_packages_private_modules() -> None:
    offences = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for line, name in _imports(path):
                parts = name.split(".")
                if parts[0] in PACKAGES and parts[0] != package and any(p.startswith("_") for p in parts[1:]):
                    offences.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not offences, "private modules of another package imported:\n" + "\n".join(offences)


def test_imports_follow_the_package_graph() -> None:
    """runtime imports nothing of ours; train uses runtime; export uses runtime and train.data (the
    Fashion-MNIST reader); benchmarks uses runtime and export (its data through export.data)."""
    allowed = {"runtime": set(), "train": {"runtime"}, "export": {"runtime", "train.data"},
               "benchmarks": {"runtime", "export"}}
    offences = []
    for package, others in allowed.items():
        for path in (ROOT / package).rglob("*.py"):
            for line, name in _imports(path):
                top = name.split(".")[0]
                if top in PACKAGES and top != package and not any(name == o or name.startswith(o + ".") for o in others):
                    offences.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not offences, "imports outside docs/development.md's package graph:\n" + "\n".join(offences)


def test_every_cli_reports_errors_through_run_cli() -> None:
    """One way to report errors and exit codes (runtime.cli): every CLI's main hands its work to
    ``run_cli``; no other module installs signal handlers, or catches BaseException without
    raising it again (clean-up on the way out is fine)."""
    clis = [p for p in ROOT.glob("*/__main__.py") if p.parent.name in PACKAGES]
    clis.append(ROOT / "export" / "steering" / "blame_check.py")
    assert len(clis) == 5
    for path in clis:
        assert "run_cli(" in path.read_text(encoding="utf-8"), f"{path.relative_to(ROOT)} does not call run_cli"
    offences = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "runtime" / "cli.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                caught = (isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name)
                          and node.type.id == "BaseException"
                          and not any(isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(node)))
                if caught or (isinstance(node, ast.Name) and node.id == "signals_as_interrupts"):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offences, "error handling outside runtime.cli:\n" + "\n".join(offences)
