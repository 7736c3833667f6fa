"""The suite's shared MLP, committed so that no test run waits on training.

``tests/fixtures/mlp/model.keras`` is the built-in 784-300-100-10 MLP trained for ``EPOCHS`` epochs
with seed ``SEED`` on Fashion-MNIST (``train.training.train``); ``manifest.json`` beside it records
how, its test accuracy and its sha256, which ``tests/conftest.py`` checks before any test uses it.
Training itself is tested in ``tests/test_train.py``.

``python -m tests.mlp_fixture [FASHION_MNIST_DIR]`` retrains it and rewrites both files (Keras
writes a save date into the archive, so the bytes differ from run to run; the weights do not on
one machine type).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "fixtures" / "mlp"
MODEL = FOLDER / "model.keras"
MANIFEST = FOLDER / "manifest.json"
# A few epochs give a model confident enough that fidelity checks are meaningful.
EPOCHS = 3
SEED = 42


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checked_folder() -> Path:
    """FOLDER, after checking model.keras against its manifest (AssertionError naming the fix)."""
    manifest = json.loads(MANIFEST.read_text())
    assert (manifest["arch"], manifest["epochs"], manifest["seed"]) == ("mlp", EPOCHS, SEED), manifest
    assert sha256(MODEL) == manifest["sha256"], (
        f"{MODEL} does not match {MANIFEST.name}: regenerate both with `python -m tests.mlp_fixture`")
    return FOLDER


def build(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Train the MLP and write MODEL and MANIFEST (each through a temporary file and a rename)."""
    from runtime.files import write_bytes_atomic, write_text_atomic
    from train.training import train

    with tempfile.TemporaryDirectory() as tmp:
        result = train(arch="mlp", data_dir=data_dir, epochs=EPOCHS, seed=SEED, output=tmp, verbose=0)
        FOLDER.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(MODEL, result.model_path.read_bytes())
    manifest = {
        "file": MODEL.name, "arch": "mlp", "epochs": EPOCHS, "seed": SEED, "parameters": result.parameters,
        "test_accuracy": round(float(result.test_accuracy), 4), "sha256": sha256(MODEL),
        "made_by": "python -m tests.mlp_fixture",
    }
    write_text_atomic(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return MODEL


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else None))
