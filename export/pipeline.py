"""Convert, quantize and validate: the work behind ``python -m export``."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from runtime.metadata import Quantization

from .errors import ModelLoadError, TargetNotReachedError, UnsupportedFormatError, ValidationError
from .litert import CALIBRATED_MODES, IO_DTYPES, MODE_IO_DTYPES, TFLITE_MODES, export_litert
from .metadata import build_metadata, sha256_file
from .onnx import DEFAULT_OPSET, ONNX_MODES, export_onnx
from .mixed_precision import Steering, supports_float_island
from .steering import build_variant, check_steering, format_steering, steer_variant
from .validate import DEFAULT_THRESHOLDS, ArtifactReport, Thresholds, format_table, validate_artifact

logger = logging.getLogger(__name__)

FORMATS = ("onnx", "tflite")
FORMAT_CHOICES = (*FORMATS, "all")
MODES = {"onnx": ONNX_MODES, "tflite": TFLITE_MODES}
ALL_MODES = tuple(dict.fromkeys(m for modes in MODES.values() for m in modes))
SUFFIX = {"onnx": ".onnx", "tflite": ".tflite"}
REPORT_NAME = "export_report"
DEFAULT_CALIBRATION_SAMPLES = 500
# Full-int8 TFLite takes raw uint8 pixels by default: no float ops at all on the target.
DEFAULT_IO_DTYPE = "uint8"


@dataclass(frozen=True)
class ExportPlan:
    """Which (format, mode) artifacts to build."""

    variants: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, fmt: str, quantize: str = "none") -> "ExportPlan":
        """Check ``fmt`` and the comma-separated ``quantize`` list against the closed sets."""
        if fmt not in FORMAT_CHOICES:
            raise UnsupportedFormatError(
                f"Unrecognized format={fmt!r}. Supported formats are: {list(FORMAT_CHOICES)}"
            )
        formats = FORMATS if fmt == "all" else (fmt,)
        requested = [m.strip() for m in quantize.split(",") if m.strip()] or ["none"]
        for mode in requested:
            if mode != "all" and mode not in ALL_MODES:
                raise UnsupportedFormatError(
                    f"Unrecognized quantize={mode!r}. Supported modes are: {[*ALL_MODES, 'all']}"
                )
        variants = []
        for f in formats:
            for mode in MODES[f]:
                if "all" in requested or mode in requested:
                    variants.append((f, mode))
            unsupported = [m for m in requested if m != "all" and m not in MODES[f]]
            if unsupported and fmt != "all":
                raise UnsupportedFormatError(
                    f"format={f!r} does not support quantize={unsupported[0]!r}. "
                    f"Supported modes for {f} are: {list(MODES[f])}"
                )
            if unsupported:
                logger.info("skipping %s for %s: not supported by that format", unsupported, f)
        return cls(tuple(variants))


def artifact_name(fmt: str, mode: str) -> str:
    """``model.onnx``/``model.tflite`` for fp32, ``model.<mode>.<ext>`` for variants."""
    return f"model{'' if mode == 'none' else '.' + mode}{SUFFIX[fmt]}"


def load_keras_model(path: Path):
    """Load a ``.keras`` file, turning every failure into a one-line ModelLoadError."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found (train one with `python -m train`)")
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path}: expected a .keras file, got suffix {path.suffix or '(none)'!r}")
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises ValueError, zipfile.BadZipFile, OSError, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ModelLoadError(f"{path}: cannot load the Keras model ({type(e).__name__}: {first})") from e


def run_export(
    model_path: str | os.PathLike,
    *,
    fmt: str = "all",
    quantize: str = "none",
    output_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    opset: int = DEFAULT_OPSET,
    io_dtype: str = DEFAULT_IO_DTYPE,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    seed: int = 0,
    thresholds: dict[str, Thresholds] | None = None,
    steering: Steering | None = None,
) -> list[ArtifactReport]:
    """Build, validate and install the requested artifacts; return one report each.

    Every artifact is written to a temporary file beside its final name and renamed
    into place only once it passes validation, so a failed run never replaces a good
    artifact. Raises ValidationError (after writing the report) if any artifact fails.
    ``steering`` (issue 11) adds per-layer reports, float layers and the target search;
    TargetNotReachedError is raised after the best variant is installed and reported.
    """
    plan = ExportPlan.parse(fmt, quantize)
    if io_dtype not in IO_DTYPES:
        raise UnsupportedFormatError(f"Unrecognized io_dtype={io_dtype!r}. Supported: {list(IO_DTYPES)}")
    if calibration_samples < 1:
        raise ValueError(f"calibration_samples must be >= 1, got {calibration_samples}")
    thresholds = thresholds or DEFAULT_THRESHOLDS
    model_path = Path(model_path)
    out = Path(output_dir) if output_dir is not None else model_path.parent
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out} exists and is not a directory")
    model = load_keras_model(model_path)
    steering = steering or Steering()
    layout = check_steering(  # HOOK issue 11
        steering, [(f, m, _variant_io(f, m, io_dtype)) for f, m in plan.variants], model
    )
    source_sha = sha256_file(model_path)
    out.mkdir(parents=True, exist_ok=True)

    from train.data import load_fashion_mnist
    from train.model import preprocess

    data = load_fashion_mnist(data_dir)
    images = preprocess(data.x_test)
    keras_proba = np.asarray(model.predict(images, batch_size=1000, verbose=0), dtype=np.float32)
    calibration = preprocess(calibration_set(data.x_train, calibration_samples, seed))

    reports: list[ArtifactReport] = []
    tmp_files: list[Path] = []
    try:
        for f in dict.fromkeys(f for f, _ in plan.variants):
            # The fp32 file is always converted: it is the base for ONNX quantization and
            # the size reference for every variant of its format.
            fp32_tmp = _tmp_path(out, artifact_name(f, "none"))
            tmp_files.append(fp32_tmp)
            meta = build_metadata(fmt=f, source_sha256=source_sha, quantization=Quantization())
            if f == "onnx":
                export_onnx(model, fp32_tmp, metadata=meta, opset=opset)
            else:
                export_litert(model, fp32_tmp, metadata=meta)
            fp32_size = fp32_tmp.stat().st_size
            passed: list[tuple[Path, Path]] = []
            for _, mode in (v for v in plan.variants if v[0] == f):
                io = _variant_io(f, mode, io_dtype)
                quant = Quantization(
                    mode=mode,
                    io_dtype=io,
                    calibration_samples=calibration_samples if mode in CALIBRATED_MODES else None,
                    seed=seed if mode in CALIBRATED_MODES else None,
                )
                final = out / artifact_name(f, mode)
                keep: tuple[str, ...] = ()
                if mode == "none":
                    tmp = fp32_tmp
                else:
                    tmp = _tmp_path(out, final.name)
                    tmp_files.append(tmp)
                    meta = build_metadata(fmt=f, source_sha256=source_sha, quantization=quant)
                    logger.info("quantizing %s (%s)", final.name, mode)
                    build = partial(
                        build_variant, f, mode, model=model, fp32=fp32_tmp, meta=meta, io=io,
                        calibration=calibration, layout=layout,
                    )
                    keep = steering.keep_float if supports_float_island(f, mode, io) else ()
                    build(tmp, keep)
                logger.info("validating %s on %d test images", final.name, len(images))
                validate = partial(
                    validate_artifact,
                    images=images,
                    labels=data.y_test,
                    keras_proba=keras_proba,
                    thresholds=steering.thresholds_for(thresholds[mode], keep),  # issue 11
                    fp32_size=fp32_size,
                    expected_sha256=source_sha,
                )
                report = validate(tmp)
                report.artifact = final.name
                if steering.active and mode != "none":  # HOOK issue 11
                    report = steer_variant(
                        steering, report, fmt=f, mode=mode, io_dtype=io, tmp=tmp, model=model,
                        layout=layout, images=images, build=build, validate=validate, thresholds=thresholds[mode],
                    )
                reports.append(report)
                if report.ok:
                    passed.append((tmp, final))
                else:
                    logger.error("%s failed validation; keeping any existing %s", final.name, final.name)
            # Installed only after the format's variants are built: they all read the fp32 file.
            for tmp, final in passed:
                os.replace(tmp, final)
    finally:
        for tmp in tmp_files:
            tmp.unlink(missing_ok=True)
    write_report(out, reports, source_sha256=source_sha)
    failed = [r for r in reports if not r.ok]
    if failed:
        detail = "; ".join(f"{r.artifact}: {', '.join(r.failures)}" for r in failed)
        raise ValidationError(f"{len(failed)} artifact(s) failed validation: {detail}", reports)
    missed = [r for r in reports if r.recipe and r.recipe.get("reached") is False]  # HOOK issue 11
    if missed:
        detail = "; ".join(
            f"{r.artifact} reached {r.recipe['agreement']:.4%} keeping {r.recipe['kept_float'] or 'nothing'} in float"
            for r in missed
        )
        raise TargetNotReachedError(
            f"target agreement {steering.target_agreement:.4%} not reached: {detail} (best installed)", reports
        )
    return reports


def _variant_io(fmt: str, mode: str, io_dtype: str) -> str:
    return tflite_io_dtype(mode, io_dtype) if fmt == "tflite" else "float32"


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


def calibration_set(train_images: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` training images (never test) drawn without replacement with ``seed``.

    Pass raw images: only the ``n`` chosen are then scaled, not the whole training split.
    """
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(train_images), size=min(n, len(train_images)), replace=False)
    return train_images[np.sort(idx)]


def _tmp_path(out: Path, name: str) -> Path:
    # Keep the real suffix last: the runtime picks its backend by suffix.
    return out / f".tmp-{os.getpid()}-{name}"


def write_report(out: Path, reports: list[ArtifactReport], *, source_sha256: str) -> Path:
    """Write ``export_report.json`` and ``.md``, merging rows of earlier runs on the same model."""
    path = out / f"{REPORT_NAME}.json"
    rows: dict[str, dict] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            if old.get("source_sha256") == source_sha256:
                rows = {r["artifact"]: r for r in old.get("artifacts", [])}
        except (ValueError, OSError, KeyError, TypeError, AttributeError):
            logger.warning("ignoring unreadable previous report %s", path)
    rows.update({r.artifact: r.to_dict() for r in reports})
    doc = {"source_sha256": source_sha256, "artifacts": sorted(rows.values(), key=lambda r: r["artifact"])}
    _write_text_atomic(path, json.dumps(doc, indent=2) + "\n")
    merged = [ArtifactReport(**{k: v for k, v in r.items() if k != "ok"}) for r in doc["artifacts"]]
    sections = format_steering(merged)  # HOOK issue 11: per-layer tables and search summaries
    _write_text_atomic(out / f"{REPORT_NAME}.md", format_table(merged) + "\n" + (f"\n{sections}\n" if sections else ""))
    return path


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)
