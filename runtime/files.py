"""Temporary files beside their final names: naming, atomic writes, and clean-up of leftovers.

The one write-to-temp-then-rename helper of the project: train, export and benchmarks all write
their outputs through it (the runtime is the package every other one may depend on).
"""
from __future__ import annotations

import errno
import logging
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable, Iterable

logger = logging.getLogger(__name__)

_TMP = re.compile(r"^\.tmp-(\d+)-")


NOT_FOUND, IS_DIRECTORY = "not found", "is a directory"  # two answers of file_problem callers test for
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a readable regular file, in a few words; None if it is one.

    "not found", "is a directory", "is a symbolic link loop", "is a broken symbolic link (to X)",
    "is a FIFO (named pipe), not a regular file", ...: callers name the path and what they expected.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return f"is a broken symbolic link (to {os.readlink(path)})"
        return NOT_FOUND
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "is a symbolic link loop"
        return f"is not accessible ({e.strerror or e})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return IS_DIRECTORY
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return f"is {kind}, not a regular file"


def temporary_path(final: Path) -> Path:
    """A hidden name beside ``final`` that records this process's id.

    The real suffix stays last: the runtime picks its backend by suffix.
    """
    return final.with_name(f".tmp-{os.getpid()}-{final.name}")


def write_atomic(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    """Write through ``write(file)`` to a temporary file beside ``path``, fsync it, rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with open(tmp, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` to ``path``, atomically (see ``write_atomic``)."""
    write_atomic(path, lambda f: f.write(text))


def install(staged: Iterable[tuple[Path, Path]]) -> None:
    """Move already written (temporary, final) pairs into place: fsync, 0644, rename, fsync the folder."""
    staged = list(staged)
    for tmp, _ in staged:
        _fsync(tmp)
        os.chmod(tmp, 0o644)  # temporary files may have been made 0600
    for tmp, final in staged:
        os.replace(tmp, final)
    for folder in {final.parent for _, final in staged}:
        _fsync(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete ``.tmp-<pid>-*`` files and staging folders in ``folder`` whose process is gone
    (a killed earlier run). A symbolic link is removed itself, never followed."""
    import shutil

    removed = []
    for path in folder.iterdir():
        match = _TMP.match(path.name)
        if not match or _alive(int(match.group(1))):
            continue
        is_folder = path.is_dir() and not path.is_symlink()
        if not (is_folder or path.is_file() or path.is_symlink()):
            continue  # a FIFO or socket of that name is not ours
        try:
            if is_folder:
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError as e:
            logger.warning("cannot remove stale temporary %s: %s", path, e)
    if removed:
        logger.info("removed %d stale temporary file(s) or folder(s) of killed runs", len(removed))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True
