"""``python -m runtime MODEL INPUT... [--top-k K] [--json] [--resize] [--invert]``: classify images."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ._npy import read_npy
from .cli import print_error, run_cli
from .console import filtered_stderr
from .errors import InvalidInputError, UsageError
from .files import NOT_FOUND, file_problem
from .images import image_files, load_images
from .model import Model, load


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m runtime",
        description="Classify images (image files, folders of them, or .npy arrays) with an "
        "exported edgeport model. Prints one line per image: its name and top-k classes.",
    )
    p.add_argument("model", type=Path, help="an exported artifact (.onnx or .tflite)")
    p.add_argument(
        "inputs", type=Path, nargs="+", metavar="INPUT",
        help="image files (PNG, JPEG, BMP, PGM, anything Pillow reads), folders (all their images, "
        "sorted), or .npy arrays of uint8 raw pixels or floats in [0, 1]: (N, H, W), (H, W) or (N, H*W)",
    )
    p.add_argument("--top-k", type=int, default=1, metavar="K", help="classes to show per image (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: by batch size)")
    p.add_argument(
        "--trusted-key", type=Path, action="append", default=None, metavar="PUB.pem",
        help="Ed25519 public key (PEM) whose signature the model must carry; repeat for several",
    )
    p.add_argument(
        "--resize", action="store_true",
        help="scale images of another size to the model's input size (default: an error)",
    )
    p.add_argument(
        "--invert", action="store_true",
        help="invert image pixels (255 - p): for dark objects photographed on a light background, "
        "fed to a model trained on light objects on black such as Fashion-MNIST",
    )
    return p


def read_inputs(
    model: Model, inputs: Sequence[Path], *, resize: bool = False, invert: bool = False
) -> list[tuple[list[str] | Path, np.ndarray]]:
    """(names, array) per input: image files and folders give one name per file; a .npy gives
    its path (rows are named ``path[i]`` once the model has said how many images it holds)."""
    groups: list[tuple[list[str] | Path, np.ndarray]] = []
    for path in inputs:
        if path.suffix.lower() in (".npy", ".npz") and not path.is_dir():
            problem = file_problem(path)
            if problem == NOT_FOUND:
                raise FileNotFoundError(f"{path}: input file not found")
            if problem is not None:
                raise InvalidInputError(f"{path}: {problem}: expected a .npy file")
            groups.append((path, read_npy(path)))
        else:
            files = image_files([path])
            groups.append(([str(f) for f in files], load_images(files, model, resize=resize, invert=invert)))
    return groups


def classify(
    model_path: Path,
    inputs: Path | Sequence[Path],
    *,
    top_k: int = 1,
    threads: int | None = None,
    resize: bool = False,
    invert: bool = False,
    trusted_keys: Sequence[Path] | None = None,
) -> list[dict]:
    """Return, for each input, its name and top-k classes with probabilities (or, for a
    regression model, its predicted values)."""
    model = load(model_path, num_threads=threads, trusted_keys=trusted_keys)
    if model.task == "regression":
        return _regress(model, inputs, resize=resize, invert=invert)
    if not 1 <= top_k <= len(model.class_names):
        raise UsageError(f"--top-k must be between 1 and {len(model.class_names)}, got {top_k}")
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    results: list[dict] = []
    for names, array in read_inputs(model, [Path(p) for p in inputs], resize=resize, invert=invert):
        proba = model.predict_proba(array)
        if isinstance(names, Path):  # a .npy: one image, or one per row
            one = array.shape == tuple(model.metadata.input_shape)
            names = [str(names)] if one else [f"{names}[{i}]" for i in range(len(proba))]
        order = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
        for name, p, row in zip(names, proba, order):
            results.append({
                "index": len(results),
                "input": name,
                "top_k": [
                    {"class_index": int(c), "class_name": model.class_names[c], "probability": float(p[c])}
                    for c in row
                ],
            })
    return results


def _regress(model: Model, inputs, *, resize: bool, invert: bool) -> list[dict]:
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    results: list[dict] = []
    for names, array in read_inputs(model, [Path(p) for p in inputs], resize=resize, invert=invert):
        values = model.predict(array)
        if isinstance(names, Path):
            one = array.shape == tuple(model.metadata.input_shape)
            names = [str(names)] if one else [f"{names}[{i}]" for i in range(len(values))]
        for name, row in zip(names, values):
            results.append({"index": len(results), "input": name, "values": [float(v) for v in row]})
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body(received: list[int]) -> int:
        try:
            with filtered_stderr():  # LiteRT announces its XNNPACK delegate on stderr from C++
                results = classify(
                    args.model, args.inputs, top_k=args.top_k, threads=args.threads,
                    resize=args.resize, invert=args.invert, trusted_keys=args.trusted_key,
                )
        except MemoryError as e:  # inputs too large for this machine: the user's to shrink
            print_error(e)
            return 2
        if args.json:
            print(json.dumps(_finite_or_null(results), indent=2, allow_nan=False))
        else:
            for r in results:
                if "values" in r:
                    shown = ", ".join(f"{v:.6g}" for v in r["values"])
                else:
                    shown = ", ".join(f"{t['class_name']} {t['probability']:.4f}" for t in r["top_k"])
                print(f"{r['input']}: {shown}")
        return 0

    return run_cli(body)


def _finite_or_null(value):
    """NaN and infinities become None: --json is strict JSON, which has no Infinity or NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
