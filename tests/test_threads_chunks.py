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
from runtime._dispatch import (
    BURST, EXPLORE_EVERY, FIRST_BURST_AFTER, TIMED_BEFORE_BURST, Dispatcher, _Chooser, usable_cores,
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
        if name == "model.tflite":  # float LiteRT: both instances compete from the first row
            assert dispatch.crossover == 1 and dispatch.engine_for(1) is dispatch.engine_for(256)
        else:
            assert dispatch.engine_for(1) is not dispatch.engine_for(256)
            assert dispatch.engine_for(dispatch.crossover - 1) is dispatch.engine_for(1)
    x = test_set[0][:300]
    for n in (1, 7, 300):  # small engine, small engine, large engine
        np.testing.assert_allclose(model.predict_proba(x[:n]), one.predict_proba(x[:n]), atol=1e-6)
        np.testing.assert_array_equal(model.predict(x[:n]), one.predict(x[:n]))


def test_large_batches_measure_both_engines(exported_dir, test_set):
    if usable_cores() == 1:
        pytest.skip("one core: a single 1-thread engine, nothing to choose")
    model = runtime.load(exported_dir / "model.onnx")
    x = test_set[0][:64]
    for _ in range(FIRST_BURST_AFTER + BURST + 1):  # the first burst comes early
        model.predict_proba(x)
    chooser = model._backend._choosers[len(x).bit_length()]  # per size class
    assert model._backend._large is not None and chooser.recent and all(t > 0 for t in chooser.recent)
    assert chooser.calls < EXPLORE_EVERY - FIRST_BURST_AFTER  # a burst ran and was decided


def test_float_litert_competes_from_one_row(exported_dir, test_set):
    """Issue 19.16: float LiteRT at batch 1 is no longer pinned to the N-thread instance."""
    if usable_cores() == 1:
        pytest.skip("one core: a single 1-thread engine, nothing to choose")
    model = runtime.load(exported_dir / "model.tflite")
    dispatch = model._backend
    assert dispatch.crossover == 1 and model._direct_rows == 0
    for _ in range(FIRST_BURST_AFTER + BURST + 1):
        model.predict_proba(test_set[0][:1])
    chooser = dispatch._choosers[1]
    assert dispatch._large is not None and chooser.recent  # both instances ran
    assert chooser.calls < EXPLORE_EVERY - FIRST_BURST_AFTER  # and the burst was decided
    assert dispatch.engine_for(1) is (dispatch._large if chooser.use else dispatch._small)
    int8 = runtime.load(exported_dir / "model.int8.tflite")._backend
    assert int8.crossover > 1 and int8.engine_for(1) is int8._small


class _SpinEngine:
    """A stand-in engine for the policy alone: ``cost_s`` of busy CPU per row (no engine library)."""

    name = "litert"
    thread_settings: dict = {}

    def __init__(self, threads: int, costs: dict[int, float]) -> None:
        self.threads, self.cost_s = threads, costs[threads]

    def run(self, x):
        end = time.perf_counter() + self.cost_s * len(x)
        while time.perf_counter() < end:
            pass
        return np.full((len(x), 1), self.threads, np.float32)


@pytest.mark.parametrize("costs, winner", [({1: 60e-6, 2: 20e-6}, 2), ({1: 20e-6, 2: 60e-6}, 1)])
def test_the_faster_instance_wins_whichever_it_is(costs, winner):
    """Idle machine: N threads faster; a busy core: 1 thread faster. The default follows both."""
    dispatch = Dispatcher(lambda t: _SpinEngine(t, costs), num_threads=None, max_batch=1000, cores=2)
    dispatch.tune("none")  # float LiteRT: the instances compete from 1 row
    x = np.zeros((1, 4), np.float32)
    ran = [int(dispatch.run(x)[0, 0]) for _ in range(2 * (EXPLORE_EVERY + BURST))]
    assert dispatch._choosers[1].use == (winner == 2)
    share = ran[-EXPLORE_EVERY:].count(winner) / EXPLORE_EVERY
    assert share >= 1 - 1.5 * BURST / EXPLORE_EVERY, f"{share:.2%} of the last calls on the winner"


def test_chooser_switches_only_on_a_clear_win():
    chooser = _Chooser(use=1)
    for _ in range(TIMED_BEFORE_BURST):
        chooser.record(False, 100.0)
    chooser.burst_left = BURST
    chooser.record(True, 1.0)  # the burst's first call is a warm-up: never counted
    for _ in range(BURST - 1):
        chooser.record(True, 99.0)  # 1% faster: below the switching margin
    assert chooser.use == 1 and chooser.burst_left == 0 and chooser.calls == 0
    chooser.burst_left = BURST
    for _ in range(BURST):
        chooser.record(True, 50.0)
    assert chooser.use == 0 and chooser.recent == [50.0] * (BURST - 1)


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
    assert model.threads_for(1) == model.threads_for(crossover - 1) == 1
    assert model.threads_for(crossover) == usable_cores()  # the N-thread instance starts
    assert model._backend._large is None  # asking builds nothing
    chooser = model._backend._choosers.setdefault(crossover.bit_length(), _Chooser(use=0))
    assert model.threads_for(crossover) == 1 and chooser.use == 0
