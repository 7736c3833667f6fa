"""The per-call path of runtime.Model (issue 19.17): bound at load, no copy of a ready batch,
no reference cycle, batch sizes switching on one LiteRT interpreter (real engines)."""
from __future__ import annotations

import gc
import inspect
import tracemalloc
import weakref

import numpy as np
import pytest

import runtime

ARTIFACTS = ["model.onnx", "model.int8.onnx", "model.tflite", "model.int8.tflite"]


def _ready_batch(model: runtime.Model, images: np.ndarray) -> np.ndarray:
    """``images`` in the very dtype the engine takes (raw uint8 pixels, or float32 in [0, 1])."""
    if model.takes_raw_pixels:  # writeable: LiteRT's SetTensor copies a read-only array itself
        return np.array(images, dtype=np.uint8, order="C")
    return images.astype(np.float32) * np.float32(model.metadata.pixel_scale)


@pytest.mark.parametrize("name", ARTIFACTS)
def test_load_binds_the_per_call_path(name, exported_dir):
    """Everything known at load is bound into closures there: no method lookups per call."""
    model = runtime.load(exported_dir / name, num_threads=1)
    assert inspect.isfunction(model._outputs)  # not a bound method: built by load
    engine = model._backend._small
    assert inspect.isfunction(engine.run) and "run" in vars(engine)
    assert model._direct_run is engine.run


def _peak_bytes(call) -> int:
    call()  # warm: first-call allocations are not the per-call path
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ARTIFACTS)
def test_a_ready_batch_is_not_copied(name, exported_dir, test_set):
    """A batch already in the engine's dtype and shape goes to the engine as it is; numpy's
    allocations are traced, so a converted or copied input would show its size."""
    model = runtime.load(exported_dir / name, num_threads=1)
    x = _ready_batch(model, test_set[0][:8])  # 8 rows: the input outweighs the outputs' arrays
    assert _peak_bytes(lambda: model.predict_proba(x)) < x.nbytes
    # the measure can see a copy: a float64 batch is converted (8 bytes per pixel, then 4)
    wide = x.astype(np.float64) * (1.0 if x.dtype == np.float32 else float(model.metadata.pixel_scale))
    assert _peak_bytes(lambda: model.predict_proba(wide)) >= wide.size * 4


@pytest.mark.parametrize("name", ["model.onnx", "model.int8.tflite"])
def test_a_dropped_model_is_freed_at_once(name, exported_dir, test_set):
    """The per-call closures hold the Model weakly: no reference cycle keeps engines alive."""
    model = runtime.load(exported_dir / name)
    model.predict_proba(test_set[0][:3])
    ref = weakref.ref(model)
    engine = weakref.ref(model._backend._small)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del model
        assert ref() is None and engine() is None
    finally:
        if was_enabled:
            gc.enable()


def test_litert_batch_sizes_switch_on_one_interpreter(exported_dir, test_set):
    """The bound run re-sizes the input tensor only when the batch changes, under its lock."""
    model = runtime.load(exported_dir / "model.int8.tflite", num_threads=1)
    one = runtime.load(exported_dir / "model.int8.tflite", num_threads=1)
    images = test_set[0][:5]
    want = np.concatenate([one.predict_proba(images[i : i + 1]) for i in range(5)])
    for rows in (1, 5, 1, 3, 3, 1):
        np.testing.assert_array_equal(model.predict_proba(images[:rows]), want[:rows])
        assert model._backend._small._batch == rows


@pytest.mark.parametrize("name", ["model.tflite", "model.onnx"])
def test_a_ready_batch_skips_the_general_path_under_default_threads(name, exported_dir, test_set):
    """Issue 19.16: with default threads, float LiteRT competes from one row (no direct instance):
    a ready batch still goes from the value check straight to the thread policy, at any size."""
    model = runtime.load(exported_dir / name)
    general = []
    model._general_outputs = lambda x, inner=model._general_outputs: general.append(x.shape) or inner(x)
    for rows in (1, 2, 64):
        model.predict_proba(_ready_batch(model, test_set[0][:rows]))
    assert general == []
    model.predict_proba(test_set[0][:2].astype(np.float64) / 255)  # needs conversion
    assert general == [(2, 28, 28)]


@pytest.mark.parametrize("name", ["model.int16x8.tflite", "model.int8.tflite", "model.int8.onnx"])
def test_raw_pixels_reach_a_quantized_input_by_one_lookup(name, exported_dir):
    """Issue 19.17: uint8 pixels become the input's codes through a 256-entry table made at load,
    with exactly the codes of the general path (scale to float32, then quantize)."""
    model = runtime.load(exported_dir / name, num_threads=1)
    every_level = np.resize(np.arange(256, dtype=np.uint8), (2, *model.metadata.input_shape))
    as_floats = every_level * np.float32(model.metadata.pixel_scale)
    quantized_input = model.input_details["dtype"] not in ("float32", "uint8")
    assert (model._pixel_codes is not None) == quantized_input  # int16 codes here; uint8 raw; floats
    codes = model.engine_input(every_level)
    np.testing.assert_array_equal(codes, model.engine_input(as_floats))
    assert codes.dtype == np.dtype(model.input_details["dtype"])
    np.testing.assert_array_equal(model.predict_proba(every_level), model.predict_proba(as_floats))
