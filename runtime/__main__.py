"""``python -m runtime MODEL INPUT.npy [--top-k K] [--json]``: classify images."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InferenceError
from .model import load


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m runtime",
        description="Classify images stored in a .npy file with an exported edgeport model.",
    )
    p.add_argument("model", type=Path, help="an exported artifact (.onnx or .tflite)")
    p.add_argument(
        "input", type=Path,
        help="a .npy of uint8 raw pixels or floats in [0, 1]: (N, 28, 28), (28, 28) or (N, 784)",
    )
    p.add_argument("--top-k", type=int, default=1, metavar="K", help="classes to show per image (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: the engine's)")
    p.add_argument(
        "--trusted-key", type=Path, action="append", default=None, metavar="PUB.pem",
        help="Ed25519 public key (PEM) whose signature the model must carry; repeat for several",
    )
    return p


def classify(
    model_path: Path,
    input_path: Path,
    *,
    top_k: int = 1,
    threads: int | None = None,
    trusted_keys: list[Path] | None = None,
) -> list[dict]:
    """Return, for each image, its top-k classes with probabilities."""
    model = load(model_path, num_threads=threads, trusted_keys=trusted_keys)
    if not 1 <= top_k <= len(model.class_names):
        raise ValueError(f"--top-k must be between 1 and {len(model.class_names)}, got {top_k}")
    if not input_path.is_file():
        raise FileNotFoundError(f"{input_path}: input file not found")
    try:
        images = np.load(input_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"{input_path}: not a readable .npy array without pickles ({e})") from e
    proba = model.predict_proba(images)
    order = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
    return [
        {
            "index": i,
            "top_k": [
                {"class_index": int(c), "class_name": model.class_names[c], "probability": float(proba[i, c])}
                for c in row
            ],
        }
        for i, row in enumerate(order)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        results = classify(
            args.model, args.input, top_k=args.top_k, threads=args.threads, trusted_keys=args.trusted_key
        )
    except (ValueError, OSError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except InferenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            shown = ", ".join(f"{t['class_name']} {t['probability']:.4f}" for t in r["top_k"])
            print(f"{r['index']}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
