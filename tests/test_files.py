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


def test_write_files_atomic_installs_all_or_nothing(tmp_path):
    """Every file lands under its final name, 0644; a failed write leaves no file and no temporary."""
    from runtime.files import write_files_atomic

    a, b = tmp_path / "m.h", tmp_path / "m.c"
    write_files_atomic([(a, b"header"), (b, b"source")])
    assert a.read_bytes() == b"header" and b.read_bytes() == b"source"
    assert oct(a.stat().st_mode & 0o777) == "0o644" and sorted(p.name for p in tmp_path.iterdir()) == ["m.c", "m.h"]

    (tmp_path / "sub").mkdir()
    try:
        write_files_atomic([(tmp_path / "sub" / "x.h", b"new"), (tmp_path / "missing" / "x.c", b"new")])
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("a write into a missing folder must fail")
    assert list((tmp_path / "sub").iterdir()) == []


def test_sha256_file_matches_hashlib(tmp_path):
    import hashlib

    from runtime.files import sha256_file

    data = os.urandom(3 << 20 | 5)  # more than one 1 MiB chunk
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_output_dir_problem_is_the_one_rule_for_output_folders(tmp_path):
    """train's and benchmarks' --output checks: a file, a path under a file, an empty path; nothing created."""
    from runtime.files import output_dir_problem

    target = tmp_path / "report.txt"
    target.write_text("keep me")
    assert output_dir_problem(target) == "exists and is not a directory"
    assert output_dir_problem(target / "sub") == f"cannot be created: {target} is not a writable directory"
    assert output_dir_problem("") == "is empty: expected a directory"
    assert output_dir_problem(tmp_path) is None and output_dir_problem(tmp_path / "new" / "deeper") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]  # the probe is gone, nothing made
