"""TFLite (LiteRT) export via SavedModel, with the converter's post-training quantization."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from runtime.metadata import ModelMetadata

from .errors import ConversionError, UnsupportedFormatError
from .seal import seal_artifact

logger = logging.getLogger(__name__)

TFLITE_MODES = ("none", "float16", "dynamic", "int8", "int16x8")
IO_DTYPES = ("float32", "uint8", "int8", "int16")
# The converter allows only these I/O types per calibrated mode (16x8: "must be in
# ['tf.float32', 'tf.int16']", checked with TF 2.21).
MODE_IO_DTYPES = {"int8": ("float32", "uint8", "int8"), "int16x8": ("float32", "int16")}
CALIBRATED_MODES = tuple(MODE_IO_DTYPES)
DEFAULT_IO_NAMES = ("pixels", "probabilities")


def tflite_io_dtype(mode: str, requested: str) -> str:
    """The I/O type a TFLite variant gets for ``--io-dtype requested``.

    int8 takes it as given; int16x8 allows only float32 or int16, so any integer request
    means int16 there; every other mode keeps float32 I/O.
    """
    allowed = MODE_IO_DTYPES.get(mode, ("float32",))
    if requested in allowed:
        return requested
    if mode == "int8":
        raise UnsupportedFormatError(f"io_dtype={requested!r} is not available for int8; expected one of {list(allowed)}")
    return "int16" if requested != "float32" and "int16" in allowed else "float32"


def export_litert(
    model,
    path: str | Path,
    *,
    metadata: ModelMetadata,
    quantize: str = "none",
    io_dtype: str = "float32",
    calibration: np.ndarray | None = None,
    keep_float: tuple[str, ...] = (),
    io_names: tuple[str, str] = DEFAULT_IO_NAMES,
    saved_models: "SavedModelCache | None" = None,
) -> Path:
    """Convert a Keras model to a builtin-ops-only ``.tflite`` file with a dynamic batch.

    ``quantize``: ``none`` (fp32), ``float16`` weights, ``dynamic`` (int8 weights) or
    ``int8`` (full integer, builtin int8 kernels only; needs ``calibration``: float32
    samples as the model sees them, never from the test split) or ``int16x8`` (16-bit activations, 8-bit
    weights; also calibrated). ``io_dtype`` applies to the calibrated modes only, per
    ``MODE_IO_DTYPES``. ``keep_float`` (int8 with float I/O only) names Keras layers left in
    float, through the converter's quantization-debugger denylist (``export.steering.mixed_precision``).
    ``saved_models`` keeps the model's SavedModel for the next call (one export run writes it once).
    """
    import tensorflow as tf

    _check_litert_arguments(quantize, io_dtype, keep_float)
    with tempfile.TemporaryDirectory() as tmp:
        if saved_models is not None:
            directory = saved_models.get(model, io_names)
        else:
            directory = tmp
            _write_saved_model(model, tmp, io_names)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory)
        images = _configure(converter, quantize, io_dtype, calibration)
        if keep_float:
            from .steering import convert_with_float_layers

            flatbuffer = _convert(lambda: convert_with_float_layers(converter, model, images, keep_float), quantize)
        else:
            flatbuffer = _convert(converter.convert, quantize)
    return _write_tflite(flatbuffer, Path(path), metadata, quantize, io_dtype, keep_float)


def export_litert_converter(
    converter,
    path: str | Path,
    *,
    metadata: ModelMetadata,
    quantize: str = "none",
    io_dtype: str = "float32",
    calibration: np.ndarray | None = None,
) -> Path:
    """As ``export_litert``, from a TFLite converter made elsewhere (e.g. a SavedModel's, ``export.savedmodel``)."""
    _check_litert_arguments(quantize, io_dtype, ())
    _configure(converter, quantize, io_dtype, calibration)
    return _write_tflite(_convert(converter.convert, quantize), Path(path), metadata, quantize, io_dtype)


def _convert(convert: Callable[[], bytes], quantize: str) -> bytes:
    """The flatbuffer ``convert()`` returns; ConversionError naming ``quantize`` if the converter fails."""
    try:
        return convert()
    except Exception as e:  # the converter raises ConverterError and assorted others
        raise ConversionError(f"TFLite conversion ({quantize}) failed: {type(e).__name__}: {e}") from e


def _write_tflite(
    flatbuffer: bytes, path: Path, metadata: ModelMetadata, quantize: str, io_dtype: str,
    keep_float: tuple[str, ...] = (),
) -> Path:
    """Check the converted ``flatbuffer``, embed ``metadata``, write and seal it at ``path``.

    A calibrated model must compute in integers only, unless ``keep_float`` layers were asked for."""
    _check_builtin_only(flatbuffer)
    extra = {}
    if quantize in CALIBRATED_MODES and not keep_float:
        _check_integer_only(flatbuffer, quantize)
    if quantize in CALIBRATED_MODES:
        extra = _check_int8_io(flatbuffer, io_dtype, metadata.pixel_scale)
    if extra:
        metadata = ModelMetadata(**{**metadata.__dict__, "extra": {**metadata.extra, **extra}})
    from .metadata import embed_tflite

    path.write_bytes(embed_tflite(flatbuffer, metadata))
    seal_artifact(path)
    return path


def _check_litert_arguments(quantize: str, io_dtype: str, keep_float: tuple[str, ...]) -> None:
    """ConversionError unless ``quantize``, ``io_dtype`` and ``keep_float`` go together."""
    if quantize not in TFLITE_MODES:
        raise ConversionError(f"unknown TFLite quantization {quantize!r}; expected one of {list(TFLITE_MODES)}")
    if io_dtype not in IO_DTYPES:
        raise ConversionError(f"unknown io dtype {io_dtype!r}; expected one of {list(IO_DTYPES)}")
    allowed_io = MODE_IO_DTYPES.get(quantize, ("float32",))
    if io_dtype not in allowed_io:
        raise ConversionError(
            f"io dtype {io_dtype!r} is not available for quantize={quantize!r}; expected one of {list(allowed_io)}"
        )
    if keep_float and (quantize, io_dtype) != ("int8", "float32"):
        raise ConversionError(
            f"float islands need quantize='int8' with io dtype 'float32', got {quantize!r} with {io_dtype!r}"
        )


def _configure(converter, quantize: str, io_dtype: str, calibration: np.ndarray | None) -> np.ndarray | None:
    """Set the converter's ops, optimizations and I/O types for ``quantize``; the calibration
    images (float32) for the calibrated modes, else None."""
    import tensorflow as tf

    images = None
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize in CALIBRATED_MODES:
        if calibration is None or len(calibration) == 0:
            raise ConversionError(f"{quantize} quantization needs calibration images")
        images = calibration.astype(np.float32)
        converter.representative_dataset = lambda: ([images[i : i + 1]] for i in range(len(images)))
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if quantize == "int8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        converter.inference_input_type = getattr(tf, io_dtype)
        converter.inference_output_type = getattr(tf, io_dtype)
    return images


class SavedModelCache:
    """A Keras model's SavedModel, written on first use into ``directory`` and reused by every later
    conversion of the same model and I/O names (writing it is most of a TFLite conversion's time)."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)
        self._written: dict[tuple[int, tuple[str, str]], tuple[object, str]] = {}

    def get(self, model, io_names: tuple[str, str]) -> str:
        key = (id(model), tuple(io_names))
        if key not in self._written:  # the model is kept with its path, so its id stays its own
            path = self._directory / f"saved-model-{len(self._written)}"
            _write_saved_model(model, str(path), io_names)
            self._written[key] = (model, str(path))
        return self._written[key][1]


def _write_saved_model(model, directory: str, io_names: tuple[str, str]) -> None:
    """Export a SavedModel whose serving signature has the artifact's input and output names."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    in_name, out_name = io_names
    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name=in_name)
    archive.add_endpoint(
        "serving_default",
        lambda x: {out_name: model(x, training=False)},
        input_signature=[spec],
    )
    archive.write_out(directory, verbose=False)


def _check_builtin_only(flatbuffer: bytes) -> None:
    """Refuse Flex (SELECT_TF_OPS) and custom ops: they need TensorFlow on the target."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    custom = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        if code.CustomCode():
            custom.add(code.CustomCode().decode())
    if custom:
        raise ConversionError(f"TFLite model uses non-builtin ops {sorted(custom)}; only builtin ops are allowed")


_FLOAT_TYPES = ("FLOAT16", "FLOAT32", "FLOAT64", "BFLOAT16", "COMPLEX64", "COMPLEX128")


def float_ops(flatbuffer: bytes) -> list[str]:
    """The ops of a calibrated TFLite model that compute in float, in graph order.

    Float tensors are allowed only at the model's float input and output, through the
    QUANTIZE and DEQUANTIZE that convert them; any other op touching a float tensor counts.
    """
    from ai_edge_litert import schema_py_generated as schema

    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(flatbuffer, 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
    found = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        is_float = [type_names.get(graph.Tensors(t).Type()) in _FLOAT_TYPES for t in range(graph.TensorsLength())]
        inputs, outputs = set(graph.InputsAsNumpy().tolist()), set(graph.OutputsAsNumpy().tolist())
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            name = op_names.get(codes[op.OpcodeIndex()], str(codes[op.OpcodeIndex()]))
            ins = [t for t in op.InputsAsNumpy().tolist() if t >= 0]
            outs = [t for t in op.OutputsAsNumpy().tolist() if t >= 0]
            if name == "QUANTIZE" and ins and all(t in inputs for t in ins) and not any(is_float[t] for t in outs):
                continue  # float model input -> integer
            if name == "DEQUANTIZE" and outs and all(t in outputs for t in outs) and not any(is_float[t] for t in ins):
                continue  # integer -> float model output
            if name == "DEQUANTIZE" or any(is_float[t] for t in ins + outs):
                found.append(name)
    return found


def _check_integer_only(flatbuffer: bytes, quantize: str) -> None:
    """ConversionError naming the float ops if a calibrated (integer-only) model computes in float."""
    ops = float_ops(flatbuffer)
    if ops:
        counts = {name: ops.count(name) for name in dict.fromkeys(ops)}
        listed = ", ".join(name if n == 1 else f"{name} x{n}" for name, n in counts.items())
        raise ConversionError(
            f"TFLite {quantize} model is not integer-only: {len(ops)} op(s) compute in float ({listed}); "
            f"the converter fell back to float (calibration ranges it could not quantize?)"
        )


def _check_int8_io(flatbuffer: bytes, io_dtype: str, pixel_scale: float | None) -> dict:
    """Read the integer input/output quantization; say whether raw uint8 pixels feed in directly."""
    from ai_edge_litert.interpreter import Interpreter

    from runtime.model import takes_raw_uint8

    interp = Interpreter(model_content=flatbuffer)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    raw = takes_raw_uint8(np.dtype(inp["dtype"]), (in_scale, in_zero), pixel_scale)
    if io_dtype == "uint8" and pixel_scale is not None and not raw:
        logger.info(
            "uint8 input quantization is scale=%g, zero_point=%d, not the pixel scale %g: the "
            "runtime re-quantizes pixels (does the calibration set lack pure black or white?)",
            in_scale, in_zero, pixel_scale,
        )
    return {
        "input_quantization": {"scale": float(in_scale), "zero_point": int(in_zero)},
        "output_quantization": {"scale": float(out_scale), "zero_point": int(out_zero)},
        "raw_uint8_pixels": raw,
    }
