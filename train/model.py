"""The Fashion-MNIST MLP of "Hands-On Machine Learning" (2nd ed., ch. 10)."""

from __future__ import annotations

import keras
import numpy as np

from train.data import CLASS_NAMES  # noqa: F401  (re-exported: the data's class names)

INPUT_SHAPE = (28, 28)
PIXEL_SCALE = 1.0 / 255.0
NUM_CLASSES = 10
MODEL_NAME = "fashion_mnist_mlp"


def preprocess(images: np.ndarray) -> np.ndarray:
    """Scale raw uint8 pixels to float32 in [0, 1]. Labels must not go through this."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"preprocess expects raw uint8 pixels, got {images.dtype}")
    return images.astype(np.float32) * np.float32(PIXEL_SCALE)


def build_model(learning_rate: float = 0.01) -> keras.Model:
    """Build and compile the 300-100-10 ReLU MLP (266,610 parameters) with plain SGD."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
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
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.SGD(learning_rate),
        metrics=["accuracy"],
    )
    return model
