"""Thread defaults, bounded chunks, engine failures and pickling of runtime.Model (real engines)."""
from __future__ import annotations

import multiprocessing
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import runtime
from runtime import _dispatch
from runtime._dispatch import (
    FIRST_COMPARISON_AFTER, QUIET_MAX, SIDE_CALLS, SWITCH_BELOW, WARMUP_CALLS, Dispatcher, _Chooser, usable_cores,
)

ARTIFACTS = ["model.onnx", "model.int8.onnx", "model.tflite", "model.int8.tflite"]
SMALL_MLP = Path(__file__).parent / "fixtures" / "mcu" / "small_mlp.int8.tflite"


@pytest.mark.parametrize("name", ARTIFACTS)
def test_default_threads_switch_engines_and_agree(name, exported_dir, test_set):
    model = runtime.load(exported_dir / name)
    one = runtime.load(exported_dir / name, num_threads=1)
    dispatch = model._backend
    if usable_cores() > 1:
        assert "policy" in model.thread_settings
        if name.endswith(".tflite"):  # LiteRT: both instances compete from the first row
            assert dispatch.crossover == 1
        else:
            assert dispatch.crossover == 32 and dispatch.engine_for(31) is dispatch._small
        assert dispatch.engine_for(256) is dispatch._small and dispatch._large is None  # 1 thread first
    x = test_set[0][:300]
    for n in (1, 7, 300):  # small engine, small engine, large engine
        np.testing.assert_allclose(model.predict_proba(x[:n]), one.predict_proba(x[:n]), atol=1e-6)
        np.testing.assert_array_equal(model.predict(x[:n]), one.predict(x[:n]))


def _run_until_compared(model: runtime.Model, x: np.ndarray, limit: int = 5000) -> _Chooser:
    """Predict ``x`` until its size class's first comparison has timed both instances."""
    for _ in range(limit):
        model.predict_proba(x)
        chooser = model._backend._choosers.get(len(x).bit_length())
        if chooser is not None and None not in chooser.estimate:
            return chooser
    raise AssertionError(f"no comparison of the two instances within {limit} calls")


def test_large_batches_measure_both_engines(exported_dir, test_set):
    if usable_cores() == 1:
        pytest.skip("one core: a single 1-thread engine, nothing to choose")
    model = runtime.load(exported_dir / "model.onnx")
    chooser = _run_until_compared(model, test_set[0][:64])  # the first comparison comes early
    assert model._backend._large is not None and all(t > 0 for t in chooser.estimate)
    assert chooser.left == 0 and chooser.countdown > 0  # the comparison was decided


@pytest.mark.parametrize("name", ["model.tflite", "model.int8.tflite"])
def test_litert_competes_from_one_row(name, exported_dir, test_set):
    """Issue 19.16: float LiteRT at batch 1 is no longer pinned to the N-thread instance, and int8
    LiteRT below 64 rows no longer to the 1-thread one (N threads: 1.2-1.37x faster at 2-32 rows on an
    idle 2-core machine, 1.6x slower with a core busy)."""
    if usable_cores() == 1:
        pytest.skip("one core: a single 1-thread engine, nothing to choose")
    model = runtime.load(exported_dir / name)
    dispatch = model._backend
    assert dispatch.crossover == 1 and model._direct_rows == 0
    chooser = _run_until_compared(model, test_set[0][:1])
    assert dispatch._large is not None and chooser is dispatch._choosers[1]  # both instances ran
    assert dispatch.engine_for(1) is (dispatch._large if chooser.use else dispatch._small)
    onnx = runtime.load(exported_dir / "model.int8.onnx")._backend
    assert onnx.crossover == 32 and onnx.engine_for(31) is onnx._small


class _SpinEngine:
    """A stand-in engine for the policy alone (no engine library): busy CPU per row, drawn from
    ``costs[threads]`` (seconds, cycled through), and ``wake`` times that for its first
    ``wake_calls`` calls after the other instance ran (a pool waking up, its weights out of cache)."""

    name = "litert"
    thread_settings: dict = {}
    last: list = [None]

    def __init__(self, threads: int, costs: dict, wake: float = 1.0, wake_calls: int = 0) -> None:
        self.threads, self.costs, self.calls = threads, list(np.atleast_1d(costs[threads])), 0
        self.wake, self.wake_calls, self.cold = wake, wake_calls, 0

    def run(self, x):
        if _SpinEngine.last[0] is not self:
            _SpinEngine.last[0], self.cold = self, self.wake_calls
        cost = self.costs[self.calls % len(self.costs)] * (self.wake if self.cold else 1.0)
        self.calls, self.cold = self.calls + 1, max(0, self.cold - 1)
        end = time.perf_counter() + cost * len(x)
        while time.perf_counter() < end:
            pass
        return np.full((len(x), 1), self.threads, np.float32)


def _compete(monkeypatch, costs: dict, calls: int, **engine) -> tuple[Dispatcher, list[int]]:
    """``calls`` calls at batch 1 through a Dispatcher over two stand-in engines; comparisons 10x
    shorter and closer than the real ones, so that a test of ~0.5 s sees several."""
    monkeypatch.setattr(_dispatch, "SIDE_NS", _dispatch.SIDE_NS // 10)
    monkeypatch.setattr(_dispatch, "GAP_NS", _dispatch.GAP_NS // 10)
    dispatch = Dispatcher(lambda t: _SpinEngine(t, costs, **engine), num_threads=None, max_batch=1000, cores=2)
    assert dispatch.crossover == 1  # "litert": the instances compete from 1 row
    x = np.zeros((1, 4), np.float32)
    return dispatch, [int(dispatch.run(x)[0, 0]) for _ in range(calls)]


@pytest.mark.parametrize("costs, winner", [({1: 60e-6, 2: 20e-6}, 2), ({1: 20e-6, 2: 60e-6}, 1)])
def test_the_faster_instance_wins_whichever_it_is(costs, winner, monkeypatch):
    """Idle machine: N threads faster; a busy core: 1 thread faster. The default follows both."""
    dispatch, ran = _compete(monkeypatch, costs, 12_000)
    assert dispatch._choosers[1].use == (winner == 2)
    share = ran[-6000:].count(winner) / 6000
    assert share >= 0.9, f"{share:.2%} of the last calls on the winner"


def test_a_bimodal_instance_is_judged_by_its_mean(monkeypatch):
    """With a core busy, N-thread calls are fast when the worker has the core and slow when it waits:
    here 2 of 3 calls take 45 us and 1 takes 5 (mean 31.7, median 45) against a steady 38 us. A stream
    of calls pays the mean, so the N-thread instance must win (a median would pick 1 thread)."""
    dispatch, ran = _compete(monkeypatch, {1: 38e-6, 2: [45e-6, 5e-6, 45e-6]}, 12_000)
    assert dispatch._choosers[1].use == 1 and ran[-4000:].count(2) / 4000 >= 0.9


def test_both_sides_of_a_comparison_pay_their_warm_up(monkeypatch):
    """An instance is slow for its first calls after the other one ran (5x for 6 calls here). Timing
    the other instance cold against the chosen one warm would keep the slower N-thread instance."""
    dispatch, ran = _compete(monkeypatch, {1: 20e-6, 2: 30e-6}, 12_000, wake=5.0, wake_calls=6)
    assert dispatch._choosers[1].use == 0 and ran[-4000:].count(1) / 4000 >= 0.9


def test_chooser_switches_only_on_a_clear_win():
    def compare(chooser: _Chooser, other_ns: float, mine_ns: float) -> None:
        chooser.start(1e9)  # a 1 s call: sides of SIDE_CALLS calls, WARMUP_CALLS of them uncounted
        assert chooser.side == SIDE_CALLS and chooser.warmup == WARMUP_CALLS
        for i in range(2 * SIDE_CALLS):
            other_side = i < SIDE_CALLS
            assert chooser.current() == (1 - chooser.use if other_side else chooser.use)
            warm_up = i % SIDE_CALLS < WARMUP_CALLS
            chooser.record(1e6 if warm_up else other_ns if other_side else mine_ns, 1)  # warm-ups never count

    chooser = _Chooser(1, None)
    compare(chooser, 99.0, 100.0)  # 1% faster: below the switching margin
    assert 1 - 99.0 / 100.0 < 1 - SWITCH_BELOW
    assert chooser.use == 1 and chooser.left == 0 and chooser.estimate == [99.0, 100.0] and chooser.quiet == 2
    compare(chooser, 50.0, 100.0)  # estimates blend: 1 thread (99 + 50) / 2 against 100
    assert chooser.use == 0 and chooser.estimate == [74.5, 100.0] and chooser.quiet == 1
    for _ in range(3):
        compare(chooser, 100.0, 74.5)
    assert chooser.use == 0 and chooser.quiet == QUIET_MAX


def test_comparisons_are_sized_in_time():
    """Batch 1 of a ~30 us model: sides of ~20 ms, the first ~1 ms not counted, gaps of >= 0.25 s."""
    chooser = _Chooser(1, None)
    assert chooser.gap == FIRST_COMPARISON_AFTER
    chooser.start(30_000.0)
    assert chooser.side == 667 and chooser.warmup == 34 and chooser.left == 1334
    for i in range(1334):
        chooser.record(30_000.0, 1)
    assert chooser.use == 1 and chooser.gap == chooser.countdown == 2 * 8333  # confirmed: twice 0.25 s


def test_explicit_threads_keep_one_engine(exported_dir):
    model = runtime.load(exported_dir / "model.onnx", num_threads=2)
    assert model._backend.engine_for(1) is model._backend.engine_for(10_000)
    assert model.thread_settings["intra_op_num_threads"] == 2


@pytest.mark.parametrize("name", ["model.onnx", "model.tflite", "model.int8.tflite"])
def test_big_inputs_run_in_chunks(name, exported_dir, test_set):
    x = test_set[0][:100]
    model = runtime.load(exported_dir / name, max_batch=7)
    assert model.max_batch == 7
    whole = model.predict_proba(x)
    by_chunk = np.concatenate([model.predict_proba(x[i : i + 7]) for i in range(0, 100, 7)])
    np.testing.assert_array_equal(whole, by_chunk)
    if model.backend == "litert":  # the engine itself never saw more than 7 rows
        assert model._backend._small._batch <= 7
        assert model._backend._large is None or model._backend._large._batch <= 7


def test_default_chunk_stays_below_the_engine_limit(exported_dir):
    model = runtime.load(exported_dir / "model.int8.tflite")
    assert 1000 <= model.max_batch and model.max_batch * 784 < 2**31
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="max_batch"):
            runtime.load(exported_dir / "model.int8.tflite", max_batch=bad)


@pytest.mark.slow
def test_batch_above_2_31_elements_is_right(test_set):
    """Issue 12.1: unchunked, LiteRT's XNNPACK path returns garbage for most rows here (every row of
    this model with ``max_batch=10**12``). The engine limit is in the input's elements, not in the
    model's work: a small int8 MLP over the same (28, 28) uint8 images (tests/fixtures/mcu) keeps
    the 2.7 million rows at a few seconds."""
    model = runtime.load(SMALL_MLP)
    assert model.metadata.input_shape == (28, 28) and model.max_batch * 784 < 2**31
    image = test_set[0][:1]
    rows = 2**31 // 784 + 1000
    huge = np.broadcast_to(image, (rows, 28, 28))  # a view: no 2 GiB allocation
    proba = model.predict_proba(huge)
    assert proba.shape == (rows, 10)
    np.testing.assert_array_equal(proba, np.broadcast_to(model.predict_proba(image), proba.shape))


@pytest.mark.parametrize("threads", [1, None])
def test_failed_resize_leaves_model_usable(exported_dir, test_set, threads):
    """Issue 12.2: an impossible batch raises InferenceError; previous and other sizes still work."""
    model = runtime.load(exported_dir / "model.int8.tflite", num_threads=threads, max_batch=10**12)
    x = test_set[0][:3]
    before = model.predict_proba(x)
    impossible = np.broadcast_to(x[:1], (10**9, 28, 28))  # 784 GB of input: allocation fails
    with pytest.raises(runtime.InferenceError, match="1000000000 rows"):
        model.predict_proba(impossible)
    np.testing.assert_array_equal(model.predict_proba(x), before)
    np.testing.assert_array_equal(model.predict_proba(x[:2]), before[:2])
    assert issubclass(runtime.InferenceError, RuntimeError)


def test_range_message_prints_enough_digits(exported_dir):
    model = runtime.load(exported_dir / "model.onnx")
    x = np.full((1, 28, 28), 1.0000001, np.float32)
    with pytest.raises(runtime.InvalidInputError, match=r"1\.0000001\]"):
        model.predict_proba(x)


def test_model_pickles_as_path_and_settings(exported_dir, test_set):
    model = runtime.load(exported_dir / "model.int8.tflite", num_threads=1, max_batch=50)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.path == model.path and clone.max_batch == 50 and clone.thread_settings == model.thread_settings
    x = test_set[0][:120]
    np.testing.assert_array_equal(clone.predict_proba(x), model.predict_proba(x))


def test_model_works_in_a_spawn_process_pool(exported_dir, test_set):
    model = runtime.load(exported_dir / "model.onnx")
    x = test_set[0][:20]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = pool.submit(model.predict, x).result(timeout=120)
    np.testing.assert_array_equal(remote, model.predict(x))


def test_directory_as_model_says_so(tmp_path: Path):
    (tmp_path / "m.onnx").mkdir()
    with pytest.raises(runtime.ModelFileError, match="is a directory"):
        runtime.load(tmp_path / "m.onnx")


def test_threads_for_says_which_instance_runs_a_batch(exported_dir, test_set):
    """Model.threads_for: the benchmark's thread rows show the instance the default ran on."""
    assert runtime.load(exported_dir / "model.onnx", num_threads=2).threads_for(1) == 2
    model = runtime.load(exported_dir / "model.onnx")
    if usable_cores() == 1:
        assert model.threads_for(1) == model.threads_for(4096) == 1
        return
    crossover = model._backend.crossover
    assert model.threads_for(1) == model.threads_for(crossover - 1) == model.threads_for(crossover) == 1
    assert model._backend._large is None  # asking builds nothing
    chooser = model._backend._choosers.setdefault(crossover.bit_length(), _Chooser(1, None))
    assert model.threads_for(crossover) == usable_cores() and chooser.use == 1  # once chosen
