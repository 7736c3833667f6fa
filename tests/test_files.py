"""runtime.files: stale temporaries of killed runs are cleaned up, and nothing else (real files)."""
from __future__ import annotations

import os
import subprocess
import sys

from runtime.files import remove_stale_temporaries


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_stale_staging_folders_are_removed_without_following_links(tmp_path):
    """A SIGKILL during a C export leaves .tmp-<pid>-model.int8/ with sources inside: removed."""
    out, keep = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    keep.mkdir()
    (keep / "precious.c").write_text("int x;")
    dead = _dead_pid()
    staging = out / f".tmp-{dead}-model.int8"
    (staging / "sub").mkdir(parents=True)
    (staging / "model.int8.c").write_text("half written")
    (staging / "sub" / "x.o").write_bytes(b"\0")
    stale_file = out / f".tmp-{dead}-model.onnx"
    stale_file.write_bytes(b"left by a killed export")
    link = out / f".tmp-{dead}-link"
    link.symlink_to(keep, target_is_directory=True)
    live = out / f".tmp-{os.getppid()}-model.tflm"  # a live process: not ours to delete
    live.mkdir()
    removed = remove_stale_temporaries(out)
    assert sorted(p.name for p in removed) == sorted(p.name for p in (staging, stale_file, link))
    assert not staging.exists() and not stale_file.exists() and not os.path.lexists(link)
    assert live.is_dir() and (keep / "precious.c").read_text() == "int x;"
