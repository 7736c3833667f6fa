"""What a Keras model does, read from the model itself: input shape, output width, task.

- softmax over C > 1 outputs: ``classification``;
- one sigmoid unit: ``binary``;
- one linear output: ``regression``;
- a linear output of k > 1 values is ambiguous (regression, or a logits classifier
  trained with ``from_logits=True``), so it needs ``--task``. With ``--task
  classification`` the exported graph ends in a softmax; with ``--task binary`` on one
  linear unit, in a sigmoid.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelLoadError, TaskError

TASKS = ("classification", "binary", "regression")


@dataclass(frozen=True)
class ModelFacts:
    """Facts about a single-input, single-output Keras model."""

    item_shape: tuple[int, ...]
    outputs: int
    task: str
    activation: str  # the output layer's activation, as found
    appended: str | None = None  # "softmax" or "sigmoid" added to the exported graph


def inspect_model(model, task: str | None = None) -> ModelFacts:
    """Read shapes and the task from ``model``; ``task`` overrides the guess where it can."""
    if task is not None and task not in TASKS:
        raise TaskError(f"Unrecognized task={task!r}. Supported tasks are: {list(TASKS)}")
    n_in, n_out = len(model.inputs), len(model.outputs)
    if n_in != 1 or n_out != 1:
        raise ModelLoadError(
            f"the model has {n_in} inputs and {n_out} outputs: edgeport exports single-input, "
            f"single-output models"
        )
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) < 2 or any(d is None for d in in_shape[1:]):
        raise ModelLoadError(f"the model's input shape {in_shape} must be (batch, fixed sizes...)")
    if len(out_shape) != 2 or out_shape[1] is None:
        raise ModelLoadError(f"the model's output shape {out_shape} must be (batch, k)")
    return decide_facts(tuple(int(d) for d in in_shape[1:]), int(out_shape[1]), output_activation(model), task)


def decide_facts(item_shape: tuple[int, ...], outputs: int, activation: str, task: str | None) -> ModelFacts:
    """The facts of any model whose input, output width and output activation are known."""
    if task is not None and task not in TASKS:
        raise TaskError(f"Unrecognized task={task!r}. Supported tasks are: {list(TASKS)}")
    return ModelFacts(item_shape=item_shape, outputs=outputs, activation=activation, **_decide(activation, outputs, task))


def _decide(activation: str, k: int, task: str | None) -> dict:
    if activation == "softmax" and k == 1:
        raise TaskError(
            "the output is a softmax over 1 unit, which is 1.0 for every input: for two classes use "
            "Dense(1, activation='sigmoid') (binary) or Dense(2, activation='softmax')"
        )
    linear_like = activation not in ("softmax", "sigmoid")
    if task is None:
        if activation == "softmax" and k > 1:
            return {"task": "classification"}
        if activation == "sigmoid" and k == 1:
            return {"task": "binary"}
        if linear_like and k == 1:
            return {"task": "regression"}
        raise TaskError(
            f"cannot tell the task from a {activation} output of {k} values (regression, or a "
            f"classifier trained from logits?): pass --task classification, binary or regression"
        )
    if task == "regression":
        return {"task": task}
    if task == "classification":
        if k < 2 or activation == "sigmoid":
            raise TaskError(f"--task classification needs k > 1 softmax or logit outputs, got {k} {activation}")
        return {"task": task, "appended": None if activation == "softmax" else "softmax"}
    if k != 1 or activation == "softmax":
        raise TaskError(f"--task binary needs one sigmoid or logit output, got {k} {activation}")
    return {"task": task, "appended": None if activation == "sigmoid" else "sigmoid"}


def io_names(task: str, pixels: bool) -> tuple[str, str]:
    """The artifact's (input, output) tensor names: what a user reads in Netron or the runtime."""
    return ("pixels" if pixels else "features", "values" if task == "regression" else "probabilities")


def output_activation(model) -> str:
    """Name of the activation that produces the model's output ("linear" if none)."""
    layer = model.outputs[0]._keras_history[0]
    name = type(layer).__name__.lower()
    if name in ("softmax", "sigmoid"):
        return name
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", "linear") if fn is not None else "linear"


def exported_model(model, facts: ModelFacts):
    """``model``, or ``model`` followed by the softmax/sigmoid that ``facts`` asks for."""
    if facts.appended is None:
        return model
    import keras

    head = keras.layers.Softmax if facts.appended == "softmax" else _Sigmoid
    outputs = head(name=f"edgeport_{facts.appended}")(model.outputs[0])
    return keras.Model(model.inputs, outputs, name=model.name)


def _Sigmoid(name: str):
    import keras

    return keras.layers.Activation("sigmoid", name=name)
