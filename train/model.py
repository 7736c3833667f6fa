"""The built-in Fashion-MNIST models: the MLP of "Hands-On Machine Learning" (2nd ed., ch. 10)
and a small microcontroller-sized CNN.

The constants below are for train's own use only: export and the runtime read the input
shape, class count and task from the model and its data, never from here.
"""

from __future__ import annotations

import keras
import numpy as np

from train.data import CLASS_NAMES  # noqa: F401  (re-exported: the data's class names)

INPUT_SHAPE = (28, 28)  # the MLP's input; the CNN's is CNN_INPUT_SHAPE
CNN_INPUT_SHAPE = (28, 28, 1)
PIXEL_SCALE = 1.0 / 255.0
NUM_CLASSES = 10
MODEL_NAME = "fashion_mnist_mlp"
CNN_MODEL_NAME = "fashion_mnist_cnn"
CNN_MAX_PARAMS = 100_000  # the microcontroller budget the CNN must stay under


def preprocess(images: np.ndarray) -> np.ndarray:
    """Scale raw uint8 pixels to float32 in [0, 1]. Labels must not go through this."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"preprocess expects raw uint8 pixels, got {images.dtype}")
    return images.astype(np.float32) * np.float32(PIXEL_SCALE)


def _compile(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def _check_learning_rate(learning_rate: float) -> None:
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")


def build_model(learning_rate: float = 0.01) -> keras.Model:
    """Build and compile the 300-100-10 ReLU MLP (266,610 parameters) with plain SGD."""
    _check_learning_rate(learning_rate)
    model = keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(300, activation="relu", name="hidden1"),
            keras.layers.Dense(100, activation="relu", name="hidden2"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name=MODEL_NAME,
    )
    return _compile(model, keras.optimizers.SGD(learning_rate))


def build_cnn(learning_rate: float = 0.001) -> keras.Model:
    """Build and compile the small CNN (80,602 parameters) with Adam.

    conv3x3(16) relu, maxpool 2 -> conv3x3(32) relu, maxpool 2 -> dense 48 relu -> softmax 10.
    Only plain Conv2D/MaxPooling2D/Flatten/Dense, so the int8 TFLite graph uses only
    CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED and SOFTMAX kernels (about 1.1 M MACs).
    """
    _check_learning_rate(learning_rate)
    model = keras.Sequential(
        [
            keras.Input(CNN_INPUT_SHAPE, name="image"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(48, activation="relu", name="hidden"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name=CNN_MODEL_NAME,
    )
    return _compile(model, keras.optimizers.Adam(learning_rate))


def build_arch(arch: str, learning_rate: float) -> keras.Model:
    """Build the named architecture ("mlp" or "cnn"; defaults: ``train.training.ARCHS``)."""
    if arch == "mlp":
        return build_model(learning_rate)
    if arch == "cnn":
        return build_cnn(learning_rate)
    raise ValueError(f"unknown arch {arch!r}: expected one of mlp, cnn")
