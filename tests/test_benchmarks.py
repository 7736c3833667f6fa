"""Tests of the benchmarks/ package: one quick run on a real export, then its report is checked.

Times are never asserted (they depend on the machine); what is asserted is that every
field the report promises is there and consistent, and that the accuracies shown next
to the timings are the ones the runtime really gives on the test set.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import runtime
from benchmarks import preflight
from benchmarks.analysis import batch_at as _batch
from benchmarks.__main__ import main
from benchmarks.report import provenance_warning
from benchmarks.runner import find_artifacts, parse_batch_sizes
from benchmarks.timing import MeasureSettings, latency_stats_ms, measure, measure_interleaved
from export import MODES

REPO = Path(__file__).resolve().parents[1]
CREATE_HINT = "python -m train && python -m export --format all --quantize all"
STATS = ("min", "mean", "std", "p50", "p90", "p95", "p99", "max")
BATCH_SIZES = (1, 32, 256)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(
    exported_dir: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """``python -m benchmarks --quick`` run in-process through ``main``, on the session export."""
    out = tmp_path_factory.mktemp("bench")
    stdout = io.StringIO()
    start = time.perf_counter()
    records = _Records()
    logging.getLogger("benchmarks").addHandler(records)
    try:
        with contextlib.redirect_stdout(stdout):
            rc = main([
                "--model-dir", str(exported_dir), "--output", str(out), "--quick",
                "--data-dir", str(data_dir), "--batch-sizes", ",".join(map(str, BATCH_SIZES)),
            ])
    finally:
        logging.getLogger("benchmarks").removeHandler(records)
    elapsed = time.perf_counter() - start
    assert rc == 0
    report = json.loads((out / "benchmark.json").read_text())
    return {"report": report, "out": out, "stdout": stdout.getvalue(), "elapsed": elapsed,
            "log": records.messages}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _progress_counts(messages: list[str]) -> list[tuple[int, int]]:
    """(done, total) of every ``[done/total] ...`` progress line."""
    found = (re.match(r"\[(\d+)/(\d+)\] ", m) for m in messages)
    return [(int(m[1]), int(m[2])) for m in found if m]


def _artifacts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".onnx", ".tflite"))


def _subjects(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in report["subjects"]}


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


# --- the quick run ----------------------------------------------------------


def test_quick_run_covers_every_artifact_and_baseline(quick_run, exported_dir: Path) -> None:
    report = quick_run["report"]
    names = _artifacts(exported_dir)
    assert len(names) == sum(len(modes) for modes in MODES.values())  # 9 since int16x8
    assert sorted(a["file"] for a in report["artifacts"]) == names
    assert report["skipped_artifacts"] == []
    expected = {f"runtime:{n}" for n in names} | {f"bare:{n}" for n in names}
    expected |= {"keras:predict", "keras:call", "numpy:reference"}
    assert set(_subjects(report)) == expected
    assert report["config"]["batch_sizes"] == list(BATCH_SIZES)
    assert report["config"]["threads"] == 1 and report["config"]["quick"] is True
    print(f"quick benchmark run took {quick_run['elapsed']:.1f} s")


def test_latency_stats_and_throughput_for_every_subject(quick_run) -> None:
    report = quick_run["report"]
    m = report["measurement"]
    for sid, s in _subjects(report).items():
        assert [b["batch_size"] for b in s["batches"]] == list(BATCH_SIZES), sid
        for b in s["batches"]:
            stats = b["latency_ms"]
            assert set(stats) == set(STATS), sid
            assert all(_positive(stats[k]) for k in STATS if k != "std"), (sid, stats)
            assert stats["std"] >= 0
            assert stats["min"] <= stats["p50"] <= stats["p90"] <= stats["p95"] <= stats["p99"] <= stats["max"]
            assert _positive(b["throughput_sps"]), sid
            assert b["warmup_runs"] >= m["warmup_runs"]
            # both stop conditions met, unless the max-time cap ended the phase
            assert b["hit_max_time"] or (b["runs"] >= m["min_runs"] and b["elapsed_s"] >= m["min_time_s"])
            assert b["runs"] >= 1 and 0 < b["measured_time_s"] <= b["elapsed_s"]


def test_progress_total_comes_from_the_plan(quick_run, exported_dir: Path) -> None:
    counts = _progress_counts(quick_run["log"])
    n_art, n_bs = len(_artifacts(exported_dir)), len(BATCH_SIZES)
    # per artifact: accuracy, batch sizes, cold start; Keras worker: start, accuracy, predict and
    # call per batch size; NumPy: accuracy, batch sizes; two Keras cold starts; thread defaults
    total = n_art * (2 + n_bs) + (2 + 2 * n_bs) + (1 + n_bs) + 2 + 1
    assert counts == [(i, total) for i in range(1, total + 1)], counts


def test_measurement_settings_recorded(quick_run) -> None:
    m = quick_run["report"]["measurement"]
    for key in ("warmup_runs", "min_time_s", "min_runs", "max_time_s", "rounds", "cold_start_repeats"):
        assert key in m
    assert m["mode"] == "quick" and m["gc_disabled_during_timing"] is True
    assert m["min_time_s"] <= m["max_time_s"]
    assert m["test_samples"] == 10000


def test_cold_start_split_and_peak_rss(quick_run, exported_dir: Path) -> None:
    cold = {c["subject"]: c for c in quick_run["report"]["cold_start"]}
    assert set(cold) == {f"runtime:{n}" for n in _artifacts(exported_dir)} | {"keras:predict", "keras:call"}
    for sid, c in cold.items():
        for key in ("import_s", "load_s", "first_inference_s", "total_s", "process_wall_s"):
            assert _positive(c[key]), (sid, key)
        assert c["total_s"] == pytest.approx(c["import_s"] + c["load_s"] + c["first_inference_s"], rel=1e-6) or c["repeats"] > 1
        assert isinstance(c["peak_rss_bytes"], int) and c["peak_rss_bytes"] > 0
        assert len(c["runs"]) == c["repeats"] >= 1
        is_runtime = c["kind"] == "runtime"
        assert c["tensorflow_imported"] is (not is_runtime), sid  # runtime never, Keras always


def test_file_sizes_and_accuracies_match_the_runtime(quick_run, exported_dir: Path, test_set) -> None:
    images, labels = test_set
    report = quick_run["report"]
    subjects = _subjects(report)
    for row in report["artifacts"]:
        path = exported_dir / row["file"]
        assert row["size_bytes"] == path.stat().st_size
        assert row["samples"] == len(labels) == 10000
        model = runtime.load(path, num_threads=1)
        expected = float((model.predict(images) == labels).mean())
        assert abs(row["accuracy"] - expected) <= 1e-9, row["file"]
        assert abs(subjects[f"runtime:{row['file']}"]["accuracy"] - expected) <= 1e-9
        # the bare call runs the same artifact: same predictions up to rare ties
        assert abs(row["bare_accuracy"] - expected) <= 5e-4, row["file"]
        assert subjects[f"runtime:{row['file']}"]["size_bytes"] == path.stat().st_size


def test_keras_and_numpy_accuracies(quick_run, exported_dir: Path, keras_proba: np.ndarray, test_set) -> None:
    labels = test_set[1]
    subjects = _subjects(quick_run["report"])
    keras_acc = float((keras_proba.argmax(axis=1) == labels).mean())
    # measured in another process (own thread settings): allow a rare argmax tie to flip
    for sid in ("keras:predict", "keras:call"):
        assert abs(subjects[sid]["accuracy"] - keras_acc) <= 2e-4
        assert subjects[sid]["size_bytes"] == (exported_dir / "model.keras").stat().st_size
    assert abs(subjects["numpy:reference"]["accuracy"] - keras_acc) <= 5e-4


def test_environment(quick_run) -> None:
    report = quick_run["report"]
    env = report["environment"]
    assert env["cpu_model"] and env["logical_cores"] >= 1
    for pkg in ("numpy", "onnxruntime", "ai-edge-litert", "tensorflow", "keras"):
        assert env["packages"][pkg], pkg
    assert env["python"] and env["os"]
    assert "OPENBLAS_CORETYPE" in env
    assert env["threads_requested"] == 1
    assert env["onnxruntime_spinning"]["session.intra_op.allow_spinning"] == "0"
    assert set(env["thread_settings"]) == set(_subjects(report))
    for sid, s in _subjects(report).items():
        assert s["thread_settings"] and env["thread_settings"][sid] == s["thread_settings"]
        if s["backend"] == "onnxruntime":
            assert s["thread_settings"]["session.intra_op.allow_spinning"] == "0", sid
            assert s["thread_settings"]["intra_op_num_threads"] == 1, sid
            assert s["thread_settings"]["inter_op_num_threads"] == 1, sid
    keras = _subjects(report)["keras:predict"]["thread_settings"]
    assert keras == {"intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 1}


def test_ratios(quick_run) -> None:
    report = quick_run["report"]
    subjects = _subjects(report)
    keras_p50 = _batch(subjects["keras:predict"], 1)["latency_ms"]["p50"]
    assert subjects["keras:predict"]["ratios"]["speedup_vs_keras_predict"] == pytest.approx(1.0)
    for sid, s in subjects.items():
        speedup = s["ratios"]["speedup_vs_keras_predict"]
        assert speedup == pytest.approx(keras_p50 / _batch(s, 1)["latency_ms"]["p50"])
        assert report["ratios"]["speedup_vs_keras_predict"][sid] == speedup
        if s["kind"] == "runtime":
            bare = subjects[f"bare:{s['artifact']}"]
            overhead = s["ratios"]["wrapper_overhead_pct"]
            expected = (_batch(s, 1)["latency_ms"]["p50"] / _batch(bare, 1)["latency_ms"]["p50"] - 1) * 100
            assert overhead == pytest.approx(expected)
            assert report["ratios"]["wrapper_overhead_pct"][sid] == overhead
            for b in s["batches"]:
                assert "wrapper_overhead_pct" in b and "speedup_vs_keras_predict" in b


def test_targets(quick_run, exported_dir: Path) -> None:
    targets = {t["id"]: t for t in quick_run["report"]["targets"]}
    expected = {f"wrapper_overhead:{n}" for n in _artifacts(exported_dir)}
    expected |= {"speedup_vs_predict", "speedup_vs_call", "cold_start_ratio", "peak_rss_ratio"}
    loads = ("",)  # quick mode: idle rows only (the full run adds ":busy" rows, see test_busy_core)
    expected |= {
        f"thread_default:{n}:bs{bs}{load}" for n in _artifacts(exported_dir) for bs in (1, 256) for load in loads
    }
    assert set(targets) == expected
    p50 = {e["id"]: e["batches"][0]["latency_ms"]["p50"] for e in quick_run["report"]["subjects"]}
    for t in targets.values():
        assert isinstance(t["met"], bool) and isinstance(t["value"], float) and _positive(t["bound"])
        assert t["comparison"] in ("<=", ">=")
        met = t["value"] <= t["bound"] if t["comparison"] == "<=" else t["value"] >= t["bound"]
        if t["id"].startswith("wrapper_overhead:"):  # or at most +0.5 us over the bare call
            name = t["id"].split(":", 1)[1]
            met = met or (p50[f"runtime:{name}"] - p50[f"bare:{name}"]) * 1000 <= 0.5
        assert t["met"] == met, t
    assert targets["speedup_vs_predict"]["bound"] == 1000 and targets["speedup_vs_call"]["bound"] == 50
    assert targets["cold_start_ratio"]["bound"] == pytest.approx(0.1)
    assert targets["peak_rss_ratio"]["bound"] == pytest.approx(0.125)


def test_provenance_recorded(quick_run, exported_dir: Path) -> None:
    prov = quick_run["report"]["provenance"]
    keras_sha = hashlib.sha256((exported_dir / "model.keras").read_bytes()).hexdigest()
    assert prov["ok"] is True and prov["problems"] == [] and prov["keras_sha256"] == keras_sha
    assert prov["artifact_source_sha256"] == {n: keras_sha for n in _artifacts(exported_dir)}
    assert "WARNING" not in quick_run["stdout"]


def test_outputs_written(quick_run) -> None:
    out, report = quick_run["out"], quick_run["report"]
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.json", "benchmark.md", "latency.png"]
    png = (out / "latency.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    import matplotlib.image

    assert matplotlib.image.imread(out / "latency.png").ndim == 3
    md = (out / "benchmark.md").read_text()
    assert "## Targets" in md and "| Subject |" in md
    for s in report["subjects"]:
        assert f"`{s['id']}`" in md
    # the Markdown table also goes to stdout
    assert "| Subject |" in quick_run["stdout"] and "## Targets" in quick_run["stdout"]


# --- errors -----------------------------------------------------------------


def _run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_missing_model_dir_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model-dir", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and CREATE_HINT in lines[0] and "nope" in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "o").exists()


def test_model_dir_without_artifacts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.keras").write_bytes(b"not used")
    rc, err = _run_main(capsys, ["--model-dir", str(tmp_path), "--output", str(tmp_path / "o")])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "no .onnx or .tflite artifacts" in err and CREATE_HINT in err


@pytest.mark.parametrize("value", ["1,abc", "0,32", "1,,32", "", "-4", "2.5"])
def test_bad_batch_sizes(value: str, exported_dir: Path, tmp_path: Path, capsys) -> None:
    rc, err = _run_main(capsys, ["--model-dir", str(exported_dir), "--output", str(tmp_path), f"--batch-sizes={value}"])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "batch-sizes" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_threads(value: str, exported_dir: Path, tmp_path: Path, capsys) -> None:
    rc, err = _run_main(capsys, ["--model-dir", str(exported_dir), "--output", str(tmp_path), f"--threads={value}"])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "threads" in err


# --- plain functions --------------------------------------------------------


def test_parse_batch_sizes() -> None:
    assert parse_batch_sizes("1,32,256") == (1, 32, 256)
    assert parse_batch_sizes(" 256, 32,32 ") == (1, 32, 256)  # sorted, unique, 1 always included
    assert parse_batch_sizes([8]) == (1, 8)


def test_find_artifacts_order(exported_dir: Path) -> None:
    names = [p.name for p in find_artifacts(exported_dir)]
    assert names[0] == "model.onnx" and names.index("model.tflite") == len(MODES["onnx"])
    assert sorted(names) == _artifacts(exported_dir)


def test_measure_stop_rule_and_stats() -> None:
    calls = []
    m = measure(lambda: calls.append(1), MeasureSettings(warmup_runs=4, min_time_s=0.0, min_runs=50, max_time_s=5.0), 8)
    assert m.runs == 50 and len(calls) == 54 and m.batch_size == 8 and not m.hit_max_time
    capped = measure(lambda: time.sleep(0.002), MeasureSettings(0, 0.0, 10_000, 0.02), 1)
    assert capped.hit_max_time and capped.runs < 10_000
    a, b = measure_interleaved([lambda: None, lambda: None], MeasureSettings(1, 0.0, 9, 1.0), 1, rounds=3)
    assert a.runs == b.runs == 9 and a.warmup_runs == 3
    stats = latency_stats_ms(np.array([1_000_000, 2_000_000, 3_000_000, 4_000_000]))
    assert stats["min"] == 1.0 and stats["max"] == 4.0 and stats["mean"] == 2.5 and stats["p50"] == 2.5
    assert set(stats) == set(STATS)


def test_benchmark_process_never_imports_tensorflow() -> None:
    code = (
        "import sys, benchmarks, benchmarks.runner, benchmarks.subjects, benchmarks.report, "
        "benchmarks.coldstart, benchmarks.__main__; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr


# --- hardening: dotfiles, provenance, output checked first, interrupts ----------


def _link_artifacts(src: Path, dst: Path) -> Path:
    dst.mkdir(exist_ok=True)
    for name in _artifacts(src):
        (dst / name).symlink_to(src / name)
    return dst


def test_dotfiles_are_never_artifacts(exported_dir: Path, tmp_path: Path) -> None:
    folder = _link_artifacts(exported_dir, tmp_path / "m")
    # what a killed export leaves behind, and other hidden files
    for hidden in (".tmp-4242-model.onnx", ".tmp-4242-model.int8.tflite", ".model.tflite"):
        (folder / hidden).write_bytes((exported_dir / "model.onnx").read_bytes())
    assert [p.name for p in find_artifacts(folder)] == [p.name for p in find_artifacts(exported_dir)]
    assert all(not p.name.startswith(".") for p in find_artifacts(folder))


@pytest.fixture(scope="module")
def foreign_model_dir(exported_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's artifacts next to a model.keras they were not exported from (an untrained MLP)."""
    from train.model import build_model

    folder = _link_artifacts(exported_dir, tmp_path_factory.mktemp("foreign"))
    build_model().save(folder / "model.keras")
    return folder


def test_source_mismatch_is_refused_before_any_work(
    foreign_model_dir: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    argv = ["--model-dir", str(foreign_model_dir), "--output", str(tmp_path / "o"), "--quick",
            "--data-dir", str(data_dir), "--batch-sizes", "1,20000"]
    rc, err = _run_main(capsys, argv)
    assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert f"{sum(map(len, MODES.values()))} artifact(s) were not exported from model.keras" in err and "--allow-source-mismatch" in err
    assert not (tmp_path / "o").exists()
    # the flag lets the run go on (it then stops at the next check: the batch size, 20000 > 10000 images)
    rc, err = _run_main(capsys, [*argv, "--allow-source-mismatch"])
    assert rc == 2 and "--batch-sizes: 20000 exceeds" in err
    assert f"WARNING: {sum(map(len, MODES.values()))} artifact(s) were not exported" in caplog.text


def test_source_mismatch_allowed_is_loud_in_the_report(foreign_model_dir: Path, exported_dir: Path) -> None:
    artifacts = find_artifacts(foreign_model_dir)
    with pytest.raises(preflight.SourceMismatchError):
        preflight.check_sources(artifacts, foreign_model_dir / "model.keras")
    record = preflight.check_sources(artifacts, foreign_model_dir / "model.keras", allow_mismatch=True)
    assert record["ok"] is False and record["allowed_by_flag"] is True and len(record["problems"]) == 1
    block = provenance_warning({"provenance": record})
    assert block[0].startswith("> **WARNING") and "model.onnx" in block[1]
    # the artifacts agree with each other and with their own model.keras
    assert preflight.check_sources(artifacts, exported_dir / "model.keras")["ok"] is True
    assert preflight.check_sources(artifacts, None)["ok"] is True
    assert provenance_warning({"provenance": preflight.check_sources(artifacts, None)}) == []


def test_output_file_is_refused_first(exported_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    for model_dir in (exported_dir, tmp_path / "no-such-dir"):  # checked before the model folder
        for output in (target, target / "sub"):
            rc, err = _run_main(capsys, ["--model-dir", str(model_dir), "--output", str(output), "--quick"])
            assert rc == 2 and len(err.strip().splitlines()) == 1, err
            assert err.startswith(f"error: --output {output}: ") and "not a" in err
    assert target.read_text() == "keep me"


def test_sigterm_stops_cleanly(exported_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """SIGTERM during the Keras baseline: exit 143, one line, no report, no worker or temp dir left."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    # one artifact beside its model.keras: the run reaches the Keras baseline in seconds
    models = tmp_path / "models"
    models.mkdir()
    for name in ("model.keras", "model.int8.tflite"):
        (models / name).symlink_to(exported_dir / name)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--model-dir", str(models), "--output", str(out),
         "--quick", "--data-dir", str(data_dir)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "Keras baselines in a subprocess" in line:
                break
        time.sleep(2)  # let the worker start
        proc.send_signal(15)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "error: terminated (SIGTERM)"
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith("edgeport-bench-")] == []  # worker's temp dir
    time.sleep(1)
    workers = [p for p in Path("/proc").glob("[0-9]*/cmdline")
               if str(tmp) in p.read_bytes().decode(errors="replace")] if Path("/proc").is_dir() else []
    assert workers == []


def test_busy_core_rows(exported_dir: Path, test_set) -> None:
    """Issue 19.16: the full run's "one core busy" rows: a process spins pinned to the last core while
    they are measured, and is gone afterwards."""
    import psutil

    from benchmarks import threadcheck

    if runtime.usable_cores() < 2:
        pytest.skip("one usable core: no core to keep busy")
    me = psutil.Process()
    with threadcheck.busy_core(max_seconds=60) as core:
        (child,) = [p for p in me.children() if "benchmarks._busy_worker" in " ".join(p.cmdline())]
        assert child.cpu_affinity() == [core] == [max(os.sched_getaffinity(0))]
        before = sum(child.cpu_times()[:2])
        time.sleep(0.5)
        assert sum(child.cpu_times()[:2]) - before > 0.05  # spinning (it shares the core on a busy machine)
        rows = threadcheck.measure_thread_defaults(
            [exported_dir / "model.int8.tflite"], test_set[0], (1,), rounds=1, budget_s=0.005, min_calls=2,
            settle_calls=45, settle_s=0.0, loads=("idle",),
        )
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert [(r["load"], r["batch_size"]) for r in rows] == [("idle", 1)] and rows[0]["default_us"] > 0
    busy = threadcheck.thread_targets([{**rows[0], "load": "one core busy"}])
    assert busy[0]["id"] == "thread_default:model.int8.tflite:bs1:busy" and "one core busy" in busy[0]["description"]
