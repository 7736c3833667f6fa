"""Temporary files beside their final names: naming, atomic writes, and clean-up of leftovers."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

_TMP = re.compile(r"^\.tmp-(\d+)-")


def temporary_path(final: Path) -> Path:
    """A hidden name beside ``final`` that records this process's id.

    The real suffix stays last: the runtime picks its backend by suffix.
    """
    return final.with_name(f".tmp-{os.getpid()}-{final.name}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, fsync it, then rename it over ``path``."""
    tmp = temporary_path(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete ``.tmp-<pid>-*`` files in ``folder`` whose process is gone (a killed earlier run)."""
    removed = []
    for path in folder.iterdir():
        match = _TMP.match(path.name)
        if not match or not path.is_file() or _alive(int(match.group(1))):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError as e:
            logger.warning("cannot remove stale temporary file %s: %s", path, e)
    if removed:
        logger.info("removed %d stale temporary file(s) of killed runs", len(removed))
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
