"""The contract the four CLIs share (runtime.cli): exit codes carried by the errors, one-line
messages, and a bug reported with its traceback and exit 1, never as a usage error."""
from __future__ import annotations

import signal

import pytest

import benchmarks.errors
import export.errors
import runtime.errors
import train.errors
from runtime.cli import Terminated, exit_code, one_line


@pytest.mark.parametrize("error, code", [
    (export.errors.UsageError("bad flag"), 2),
    (export.errors.DataError("bad data"), 2),
    (export.errors.ConversionError("no"), 2),
    (export.errors.ValidationError("failed"), 1),
    (export.errors.TargetNotReachedError("short"), 1),
    (train.errors.DataError("bad gz"), 2),
    (train.errors.OutputError("read-only"), 2),
    (train.errors.TrainingDivergedError("nan"), 1),
    (benchmarks.errors.UsageError("no dir"), 2),
    (benchmarks.errors.BenchmarkError("failed"), 1),
    (runtime.errors.ModelFileError("corrupt"), 2),
    (runtime.errors.InferenceError("engine"), 1),
    (FileNotFoundError("x: not found"), 2),
])
def test_errors_carry_their_exit_code(error, code, capsys):
    assert exit_code(error) == code
    assert capsys.readouterr().err == f"error: {one_line(error)}\n"


def test_a_bug_prints_its_traceback_and_exits_1(capsys):
    try:
        raise ValueError("a stray ValueError from a bug")
    except ValueError as e:
        assert exit_code(e) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.strip().splitlines()[-1].startswith("error: unexpected ValueError")


def test_signals_give_130_and_143(capsys):
    assert exit_code(KeyboardInterrupt()) == 130 and exit_code(Terminated()) == 143
    # a library that wrapped the interrupt in its own exception: the signal received decides
    assert exit_code(RuntimeError("wrapped"), [signal.SIGTERM]) == 143
    assert capsys.readouterr().err.splitlines() == [
        "error: interrupted", "error: terminated (SIGTERM)", "error: terminated (SIGTERM)"]


def test_same_named_errors_mean_the_same_in_every_package():
    assert issubclass(export.errors.TaskError, runtime.errors.TaskError)
    assert issubclass(export.errors.DataError, runtime.errors.DataError)
    assert issubclass(train.errors.DataError, runtime.errors.DataError)
    assert issubclass(export.errors.UsageError, runtime.errors.UsageError)
    assert issubclass(benchmarks.errors.UsageError, runtime.errors.UsageError)


def test_export_cli_reports_a_bug_as_exit_1_not_usage(monkeypatch, tmp_path, capsys):
    import export.__main__ as cli

    def bug(args):
        raise ValueError("unexpected")

    monkeypatch.setattr(cli, "_run", bug)
    assert cli.main(["--model", str(tmp_path / "m.keras")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_one_line():
    assert one_line("a\n  b\tc") == "a b c" and one_line(ValueError()) == "ValueError"


def test_export_cli_prints_the_reports_of_a_failed_run_and_exits_1(monkeypatch, tmp_path, capsys):
    import export.__main__ as cli

    printed = []

    def failed(args):
        raise export.errors.ValidationError("1 artifact(s) failed: model.int8.tflite", reports=["row"])

    monkeypatch.setattr(cli, "_run", failed)
    monkeypatch.setattr(cli, "_print_reports", printed.append)
    assert cli.main(["--model", str(tmp_path / "m.keras")]) == 1
    assert printed == [["row"]]
    assert capsys.readouterr().err == "error: 1 artifact(s) failed: model.int8.tflite\n"


def test_blame_check_reports_through_the_shared_contract(tmp_path, capsys):
    from export.steering import blame_check

    missing = tmp_path / "missing.keras"
    code = blame_check.main(["--model", str(missing)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "missing.keras" in err
