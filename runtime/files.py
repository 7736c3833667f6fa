"""Temporary files beside their final names: naming, atomic writes, and clean-up of leftovers.

The one write-to-temp-then-rename helper of the project: train, export and benchmarks all write
their outputs through it (the runtime is the package every other one may depend on).
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
import tempfile
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


def output_dir_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not (and cannot become) a writable directory, in a few words; None if it is
    or can be. Creates nothing: an existing folder is checked by creating and removing a probe file.

    "is empty: expected a directory", "exists and is not a directory", "is a directory that cannot be
    written (...)", "cannot be created: P is not a writable directory": callers name the path.
    """
    if str(path) == "":
        return "is empty: expected a directory"
    out = Path(path).expanduser()
    if out.exists():
        if not out.is_dir():
            return "exists and is not a directory"
        try:
            fd, probe = tempfile.mkstemp(dir=out, prefix=f"{temporary_path(out / 'probe').name}.")
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            return f"is a directory that cannot be written ({e.strerror or e})"
        return None
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not a writable directory"
    return None


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``data`` to ``path``, atomically (see ``write_atomic``)."""
    write_atomic(path, lambda f: f.write(data), mode="wb")


def write_files_atomic(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write every (path, bytes) under its temporary name, then rename them all into place in the
    order given (e.g. a header before the source that includes it); nothing is renamed if a write fails."""
    files = [(Path(path), data) for path, data in files]
    staged = [(temporary_path(path), path) for path, _ in files]
    try:
        for (tmp, _), (_, data) in zip(staged, files):
            tmp.write_bytes(data)
        install(staged)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


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


def install_folder(staged: Path, target: Path) -> None:
    """Put the folder ``staged`` at ``target``; an existing ``target`` is moved aside first (to a
    ``.tmp-<pid>-old-*`` name) and removed only once the new folder is in place."""
    import shutil

    if not target.exists():
        os.replace(staged, target)
        return
    old = temporary_path(target.with_name(f"old-{target.name}"))
    os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


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
