"""What gets measured: each artifact through ``runtime``, its bare backend call, a NumPy floor.

A subject turns a batch of test inputs (raw uint8 pixels, or float32 inputs) into a
zero-argument callable (``prepare``): every input conversion the subject is *not* charged
for happens there, outside the timed call. A bare call gets exactly what the artifact's
input tensor takes (float32, e.g. pixels times the pixel scale, or raw uint8 pixels for a
uint8-input model), and the runtime subject gets the very same array, so runtime vs bare
isolates what the wrapper costs. On raw uint8 pixels the runtime is also measured on them
as they are (``prepare_pixels``, its main input contract), where its timed call includes the
pixel scaling it does itself. The NumPy reference gets float32.

The Keras baselines are measured in a separate process (``benchmarks._keras_worker``).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

import numpy as np

import runtime

from runtime import ORT_SPINNING_KEY, onnx_session_options, takes_raw_uint8

from .analysis import answers
from .environment import blas_thread_limit

PRECISION_NAMES = {"none": "fp32"}


def scale_pixels(images: np.ndarray, pixel_scale: float | None) -> np.ndarray:
    """The model's float32 inputs: raw uint8 pixels times ``pixel_scale``, float inputs as they are.

    The same way for every float subject; uint8 data with no pixel scale were refused before any
    work (``inputs.MissingScaleError``).
    """
    if images.dtype != np.uint8:
        return np.ascontiguousarray(images, dtype=np.float32)
    if pixel_scale is None:
        raise ValueError("raw uint8 pixels need the model's pixel_scale")
    return images.astype(np.float32) * np.float32(pixel_scale)


def raw_pixels(images: np.ndarray, pixel_scale: float | None) -> np.ndarray:
    """uint8 pixels for a uint8-input model: raw pixels as they are, float inputs divided by ``pixel_scale``."""
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    if pixel_scale is None:
        raise ValueError("a uint8-input model needs its pixel_scale to take float inputs")
    return np.clip(np.rint(images / np.float32(pixel_scale)), 0, 255).astype(np.uint8)


def shape_text(shape: Any) -> str:
    """``(N, 28, 28)`` for an item shape (28, 28): the input descriptions of the report."""
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


@dataclass
class Subject:
    """One thing to time. ``prepare(images_uint8)`` returns the call to time."""

    id: str
    kind: str  # runtime | bare | numpy | keras_predict | keras_call
    backend: str
    input: str
    thread_settings: dict[str, Any]
    prepare: Callable[[np.ndarray], Callable[[], object]]
    # what ``runtime.Model.predict`` answers: class labels, or float values for regression
    predict_labels: Callable[[np.ndarray], np.ndarray]
    artifact: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    context: Callable[[], ContextManager[Any]] = contextlib.nullcontext  # wraps the timing
    # runtime only: the call on raw uint8 pixels, when that differs from ``prepare``
    prepare_pixels: Callable[[np.ndarray], Callable[[], object]] | None = None


def precision_of(model: runtime.Model) -> str:
    mode = model.metadata.quantization.mode
    return PRECISION_NAMES.get(mode, mode)


def timed_call(model: runtime.Model) -> Callable[[np.ndarray], np.ndarray]:
    """The call a runtime subject is timed on: ``predict_proba`` (class probabilities), or
    ``predict`` for a regression model (its values; it has no probabilities)."""
    return model.predict if model.task == "regression" else model.predict_proba


def runtime_subject(path: Path, threads: int) -> Subject:
    """The artifact through ``runtime.load(...).predict_proba`` (``predict`` for regression),
    fed what its bare call is fed."""
    model = runtime.load(path, num_threads=threads)
    settings = model.thread_settings
    if model.backend == "onnxruntime":
        settings.update(ort_session_settings(model.engine_session))

    pixel_scale = model.metadata.pixel_scale
    takes_pixels = model.takes_raw_pixels
    predict_proba = timed_call(model)

    def prepare(images: np.ndarray) -> Callable[[], object]:
        """The same array the bare call is fed."""
        x = raw_pixels(images, pixel_scale) if takes_pixels else scale_pixels(images, pixel_scale)
        return lambda: predict_proba(x)

    def prepare_pixels(images: np.ndarray) -> Callable[[], object]:
        x = np.ascontiguousarray(images)
        return lambda: predict_proba(x)

    return Subject(
        id=f"runtime:{path.name}",
        kind="runtime",
        backend=model.backend,
        input=("uint8 raw pixels" if takes_pixels else "float32") + f" {shape_text(model.metadata.input_shape)}, "
        "as the bare call",
        thread_settings=settings,
        prepare=prepare,
        prepare_pixels=None if takes_pixels else prepare_pixels,
        predict_labels=model.predict,
        artifact=path.name,
        info={
            "format": path.suffix.lstrip("."),
            "precision": precision_of(model),
            "io_dtype": model.metadata.quantization.io_dtype,
            "pixel_scale": model.metadata.pixel_scale,
            "model": model,
        },
    )


def ort_session_settings(session: Any) -> dict[str, Any]:
    """Thread settings read back from an onnxruntime session (what it actually uses)."""
    opts = session.get_session_options()
    try:
        spinning = opts.get_session_config_entry(ORT_SPINNING_KEY)
    except RuntimeError:  # key never set: onnxruntime's default, which spins
        spinning = "unset (default: spinning on)"
    return {
        "intra_op_num_threads": opts.intra_op_num_threads,
        "inter_op_num_threads": opts.inter_op_num_threads,
        "execution_mode": str(opts.execution_mode).rsplit(".", 1)[-1],
        ORT_SPINNING_KEY: spinning,
        "providers": list(session.get_providers()),
    }


def bare_onnx_subject(
    path: Path, threads: int, pixel_scale: float | None, item_shape: tuple[int, ...], task: str = "classification"
) -> Subject:
    """A wrapper-free ``InferenceSession.run`` with the runtime's thread settings."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), sess_options=onnx_session_options(threads), providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    in_name, out_names = inp.name, [out.name]
    raw_uint8 = inp.type == "tensor(uint8)"

    def to_input(images: np.ndarray) -> np.ndarray:
        return raw_pixels(images, pixel_scale) if raw_uint8 else scale_pixels(images, pixel_scale)

    def prepare(images: np.ndarray) -> Callable[[], object]:
        feed = {in_name: to_input(images)}
        run = session.run
        return lambda: run(out_names, feed)

    def predict_labels(images: np.ndarray) -> np.ndarray:
        return answers(session.run(out_names, {in_name: to_input(images)})[0], task)

    return Subject(
        id=f"bare:{path.name}",
        kind="bare",
        backend="onnxruntime",
        input=("uint8 raw pixels" if raw_uint8 else "float32") + f" {shape_text(item_shape)}",
        thread_settings=ort_session_settings(session),
        prepare=prepare,
        predict_labels=predict_labels,
        artifact=path.name,
        info={"call": "session.run([out], {in: x})"},
    )


def bare_litert_subject(path: Path, threads: int, pixel_scale: float | None, task: str = "classification") -> Subject:
    """A wrapper-free LiteRT ``set_tensor/invoke/get_tensor`` with the runtime's threads."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    in_d, out_d = it.get_input_details()[0], it.get_output_details()[0]
    in_idx, out_idx = in_d["index"], out_d["index"]
    in_dtype = np.dtype(in_d["dtype"])
    item_shape = tuple(int(d) for d in in_d["shape"][1:])
    scale, zero_point = in_d["quantization"]
    out_scale, out_zero_point = out_d["quantization"]
    raw_uint8 = takes_raw_uint8(in_dtype, (scale, zero_point), pixel_scale)
    state = {"batch": int(in_d["shape"][0])}

    def to_input(images: np.ndarray) -> np.ndarray:
        if raw_uint8:
            return raw_pixels(images, pixel_scale)
        x = scale_pixels(images, pixel_scale)
        if in_dtype == np.float32:
            return x
        info = np.iinfo(in_dtype)  # other integer inputs: quantize outside the timed call
        q = np.rint(x / np.float32(scale)) + np.float32(zero_point)
        return np.clip(q, info.min, info.max).astype(in_dtype)

    def resize(n: int) -> None:
        if n != state["batch"]:
            it.resize_tensor_input(in_idx, (n, *item_shape), strict=True)
            it.allocate_tensors()
            state["batch"] = n

    def prepare(images: np.ndarray) -> Callable[[], object]:
        x = to_input(images)
        resize(x.shape[0])
        set_tensor, invoke, get_tensor = it.set_tensor, it.invoke, it.get_tensor

        def call() -> object:
            set_tensor(in_idx, x)
            invoke()
            return get_tensor(out_idx)

        return call

    def predict_labels(images: np.ndarray) -> np.ndarray:
        y = np.asarray(prepare(images)())
        if y.dtype.kind in "iu" and out_scale:  # quantized output: its real values (argmax is unchanged)
            y = (y.astype(np.float32) - np.float32(out_zero_point)) * np.float32(out_scale)
        return answers(y, task)

    return Subject(
        id=f"bare:{path.name}",
        kind="bare",
        backend="litert",
        input=("uint8 raw pixels" if raw_uint8 else f"{in_dtype.name}") + f" {shape_text(item_shape)}",
        thread_settings={"num_threads": threads, "delegate": "XNNPACK (default CPU)"},
        prepare=prepare,
        predict_labels=predict_labels,
        artifact=path.name,
        info={"call": "set_tensor / invoke / get_tensor", "input_dtype": in_dtype.name},
    )


def bare_subject(
    path: Path, threads: int, pixel_scale: float | None, item_shape: tuple[int, ...], task: str = "classification"
) -> Subject:
    """The artifact's engine called without the runtime; ``item_shape``: one input's shape (report text);
    ``task`` decides how its raw outputs are scored (``analysis.answers``)."""
    if path.suffix.lower() == ".onnx":
        return bare_onnx_subject(path, threads, pixel_scale, item_shape, task)
    return bare_litert_subject(path, threads, pixel_scale, task)


ACTIVATIONS = ("relu", "softmax", "linear")


def numpy_forward(layers: list[tuple[np.ndarray, np.ndarray, str]], x: np.ndarray) -> np.ndarray:
    """Dense layers as matmul + bias + activation, float32 throughout."""
    h = x
    for kernel, bias, activation in layers:
        h = h @ kernel
        h += bias
        if activation == "relu":
            np.maximum(h, 0, out=h)
        elif activation == "softmax":
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            h /= h.sum(axis=1, keepdims=True)
    return h


def numpy_subject(
    layers: list[tuple[np.ndarray, np.ndarray, str]], threads: int, pixel_scale: float | None,
    task: str = "classification",
) -> Subject:
    """The floor: the Dense stack's matmuls (+bias, relu, softmax or linear) on the Keras weights;
    ValueError for any other activation (e.g. a binary model's sigmoid)."""
    for _, _, activation in layers:
        if activation not in ACTIVATIONS:
            raise ValueError(f"numpy reference: unsupported activation {activation!r}")
    layers = [(np.ascontiguousarray(k, np.float32), np.asarray(b, np.float32), a) for k, b, a in layers]
    in_size = layers[0][0].shape[0]

    def to_input(images: np.ndarray) -> np.ndarray:
        return scale_pixels(images, pixel_scale).reshape(images.shape[0], in_size)

    def prepare(images: np.ndarray) -> Callable[[], object]:
        x = to_input(images)
        return lambda: numpy_forward(layers, x)

    def predict_labels(images: np.ndarray) -> np.ndarray:
        with blas_thread_limit(threads):
            return answers(numpy_forward(layers, to_input(images)), task)

    with blas_thread_limit(threads) as got:
        blas = got
    return Subject(
        id="numpy:reference",
        kind="numpy",
        backend="numpy",
        input=f"float32 (N, {in_size})",
        thread_settings={"openblas_num_threads": blas if blas is not None else "unknown (not settable)"},
        prepare=prepare,
        predict_labels=predict_labels,
        context=lambda: blas_thread_limit(threads),
        info={
            "layers": [f"{k.shape[0]}x{k.shape[1]} {a}" for k, _, a in layers],
            "size_bytes": int(sum(k.nbytes + b.nbytes for k, b, _ in layers)),
            "blas_thread_limit": threads,
        },
    )
