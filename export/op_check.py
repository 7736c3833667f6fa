"""``--format c`` refuses an op the C generator lacks before any conversion, where the op can be seen.

- A ``.tflite`` source: its own ops, read from the flatbuffer.
- A Keras model (``.keras``, ``.h5``): the TFLite ops its layers certainly become. The map is
  conservative: a layer is listed only when the converter always emits that op for it (a ReLU can
  be fused into the layer before it, a BatchNormalization folded, so neither is listed); layers not
  in the map are left to the generator, which checks the converted graph exactly.
- A SavedModel: the generator's own check, after conversion.
"""
from __future__ import annotations

from .csrc import UnsupportedOpError

# Keras layer class -> TFLite builtin ops it always becomes.
LAYER_OPS: dict[str, tuple[str, ...]] = {
    "Dense": ("FULLY_CONNECTED",),
    "Conv2D": ("CONV_2D",),
    "DepthwiseConv2D": ("DEPTHWISE_CONV_2D",),
    "SeparableConv2D": ("DEPTHWISE_CONV_2D", "CONV_2D"),
    "MaxPooling2D": ("MAX_POOL_2D",),
    "AveragePooling2D": ("AVERAGE_POOL_2D",),
    "GlobalAveragePooling2D": ("MEAN",),
    "GlobalMaxPooling2D": ("REDUCE_MAX",),
    "Flatten": ("RESHAPE",),
    "Reshape": ("RESHAPE",),
    "Softmax": ("SOFTMAX",),
    "Add": ("ADD",),
    "Subtract": ("SUB",),
    "Multiply": ("MUL",),
    "Concatenate": ("CONCATENATION",),
    "Embedding": ("GATHER",),
    "LeakyReLU": ("LEAKY_RELU",),
    "ELU": ("ELU",),
}
# Activation (a layer's ``activation`` or an Activation layer) -> the TFLite op it always becomes.
# relu, relu6 (fusable) and linear are absent: they may leave no op of their own; so are those
# the converter may decompose (gelu, swish, hard_swish).
ACTIVATION_OPS: dict[str, str] = {
    "softmax": "SOFTMAX",
    "sigmoid": "LOGISTIC",
    "tanh": "TANH",
    "elu": "ELU",
    "exponential": "EXP",
    "leaky_relu": "LEAKY_RELU",
}


def supported_ops() -> frozenset[str]:
    """The ops ``export.csrc`` generates C for, with the shape ops it folds away."""
    from . import csrc

    ops = getattr(csrc, "SUPPORTED_OPS", None)  # the public closed set, once the op registry exposes it
    shape_ops = getattr(csrc, "SHAPE_OPS", None)
    if ops is None or shape_ops is None:
        from .csrc import graph

        ops = ops if ops is not None else graph.SUPPORTED_OPS
        shape_ops = shape_ops if shape_ops is not None else getattr(graph, "SHAPE_OPS", ())
    return frozenset(ops) | frozenset(shape_ops)


def keras_ops(model) -> dict[str, str]:
    """{TFLite op: first Keras layer that needs it}, for the layers and activations in the maps above."""
    found: dict[str, str] = {}
    for layer in _layers(model):
        kind = type(layer).__name__
        for op in LAYER_OPS.get(kind, ()):
            found.setdefault(op, f"{layer.name} ({kind})")
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", activation if isinstance(activation, str) else None)
        if name in ACTIVATION_OPS:
            found.setdefault(ACTIVATION_OPS[name], f"{layer.name} ({kind}, activation {name})")
    return found


def check_c_ops(source) -> None:
    """UnsupportedOpError (exit 2) naming the first op of ``source`` that ``--format c`` cannot generate."""
    allowed = supported_ops()
    if source.kind == "tflite":
        for op in source.tflite.facts.ops:
            if op not in allowed:
                raise UnsupportedOpError(op, f"in {source.name}")
        return
    if source.keras_model is None:
        return
    for op, layer in keras_ops(source.keras_model).items():
        if op not in allowed:
            raise UnsupportedOpError(op, f"from layer {layer}")


def _layers(model):
    """Every layer, nested models included."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _layers(layer)
        else:
            yield layer
