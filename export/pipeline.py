"""Convert, quantize and validate: the work behind ``python -m export``."""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import Sequence

import runtime
from runtime.metadata import Quantization

from . import data as data_sources
from .arguments import (  # noqa: F401  (re-exported: existing imports keep working)
    DEFAULT_CALIBRATION_SAMPLES,
    DEFAULT_IO_DTYPE,
    SEED_MAX,
    check_arguments as _check_arguments,
    check_plan_inputs,
)
from .convert import Conversion
from .csrc import UnsupportedOpError, check_prefix
from .embedded import export_embedded
from .errors import ConversionError, UnknownLayerError, UsageError
from .formats import EMBEDDED_FORMATS, artifact_name, get_format, variant_io
from runtime.files import remove_stale_temporaries, temporary_path
from .litert import CALIBRATED_MODES, SavedModelCache, tflite_io_dtype  # noqa: F401  (tflite_io_dtype re-exported)
from .steering import RECIPE_KEY, Steering, check_steering, steer_variant, supports_float_island
from .onnx import DEFAULT_OPSET
from .op_check import check_c_ops
from .planning import (  # noqa: F401  (re-exported: existing imports keep working)
    ALL_MODES, AUTO_MODE, FORMAT_CHOICES, FORMATS, MODES, ExportPlan,
)
from .reference import AUTO, Reference, prepare_reference
from .report import failed_attempt, raise_on_failures, write_report
from .seal import load_signing_key, seal_artifact
from .sources import load_source, source_kind
from .tflite_source import tflite_mode
from .results import ArtifactReport
from .validate import ThresholdOverrides, resolve_thresholds, validate_artifact
from .weights import weight_bytes

logger = logging.getLogger(__name__)

# On random inputs, a quantized variant's agreement counts only samples that Keras decides by
# at least this probability margin (fp32 is still judged on every sample).
RANDOM_TIE_MARGIN = 0.05


@dataclass(frozen=True)
class _Job:
    """What every variant of one export run shares."""

    ref: Reference
    out: Path
    thresholds: dict
    opset: int
    io_dtype: str
    seed: int
    signing_key: object
    steering: Steering
    layout: object
    c_prefix: str = "edgeport_model"
    saved_models: SavedModelCache | None = None  # the Keras model's SavedModel, written once per run
    written: dict = field(default_factory=dict)  # (format, mode, kept layers) -> bytes already converted

    @property
    def as_is(self) -> bool:
        """The source is a .tflite, taken as it is (no conversion, its own mode)."""
        return self.ref.kind == "tflite"

    def io(self, f: str, mode: str) -> str:
        """The I/O type of the (``f``, ``mode``) artifact."""
        return self.ref.source.tflite.input_dtype.name if self.as_is else variant_io(f, mode, self.io_dtype)


def run_export(
    model_path: str | os.PathLike,
    *,
    fmt: str = "all",
    quantize: str = AUTO_MODE,
    output_dir: str | os.PathLike | None = None,
    data: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    task: str | None = None,
    pixel_scale: float | str | None = AUTO,
    class_names: Sequence[str] | str | os.PathLike | None = None,
    opset: int = DEFAULT_OPSET,
    io_dtype: str = DEFAULT_IO_DTYPE,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    seed: int = 0,
    thresholds: ThresholdOverrides | None = None,
    sign_key: str | os.PathLike | None = None,
    steering: Steering | None = None,
    c_prefix: str = "edgeport_model",
) -> list[ArtifactReport]:
    """Build, validate and install the requested artifacts; return one report each.

    Data: ``data`` (a ``.npz``), else Fashion-MNIST from ``data_dir`` or
    ``$FASHION_MNIST_DIR`` (if it fits the model), else random inputs (never a download). Every artifact is
    written to a temporary file and renamed into place only once it passes validation,
    so a failed run never replaces a good artifact. Raises ValidationError (after
    writing the report) if any artifact fails or cannot be converted. Every artifact is
    sealed (SHA-256), and signed with the Ed25519 ``sign_key`` PEM if given. ``steering``
    adds per-layer reports, float layers and the agreement-target search; then
    TargetNotReachedError is raised after the best variant is installed and reported.
    """
    plan = ExportPlan.parse(fmt, quantize)
    if any(f in EMBEDDED_FORMATS for f, _ in plan.variants):
        check_prefix(c_prefix)
    signing_key = load_signing_key(sign_key) if sign_key is not None else None
    _check_arguments(output_dir, task, opset, io_dtype, calibration_samples, seed)
    resolve_thresholds("classification", thresholds)  # fail on bad overrides before any work
    model_path = Path(model_path)
    # a .tflite is taken as it is: its own mode decides the plan
    if model_path.suffix.lower() == ".tflite" and source_kind(model_path) == "tflite":
        plan = ExportPlan.parse(fmt, quantize, source_mode=tflite_mode(model_path), source_name=model_path.name)
    formats = tuple(dict.fromkeys(f for f, _ in plan.variants))
    out = Path(output_dir) if output_dir is not None else model_path.parent
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out} exists and is not a directory")
    if plan.as_is and (out / artifact_name(*plan.variants[0])).resolve() == model_path.resolve():
        raise UsageError(f"{model_path} would be replaced by its own copy: pass --output DIR")
    dataset = data_sources.resolve(data, data_dir)
    if class_names is not None:
        class_names = data_sources.given_class_names(class_names)  # checked before the model loads
    check_plan_inputs(plan.variants, dataset is not None, io_dtype, as_is=plan.as_is)
    steering = steering or Steering()
    source = load_source(model_path)
    if "c" in formats:
        check_c_ops(source)  # an op the C generator lacks: refused before any conversion
    if steering.active and source.keras_model is None:
        raise UsageError(
            f"--layer-report, --keep-float and --target-agreement work on Keras layers: {model_path.name} is a "
            f"{source.kind} model; export its .keras or .h5 instead"
        )
    ref = prepare_reference(
        source, dataset, task=task, pixel_scale=pixel_scale, class_names=class_names,
        calibration_samples=calibration_samples if plan.needs_calibration else None, seed=seed,
    )
    layout = check_steering(steering, [(f, m, variant_io(f, m, io_dtype)) for f, m in plan.variants], ref.keras_model)
    job = _Job(
        ref, out, resolve_thresholds(ref.facts.task, thresholds), opset, io_dtype, seed, signing_key, steering,
        layout, c_prefix,
    )
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    reports: list[ArtifactReport] = []
    with tempfile.TemporaryDirectory(prefix="edgeport-export-") as work:
        job = replace(job, saved_models=SavedModelCache(work))
        for f in formats:
            export = _export_embedded if f in EMBEDDED_FORMATS else _export_as_is if job.as_is else _export_format
            reports += export(job, f, [m for g, m in plan.variants if g == f])
    write_report(out, reports, source_sha256=ref.source_sha256)
    raise_on_failures(reports, steering)
    return reports


def _export_format(job: _Job, f: str, modes: list[str]) -> list[ArtifactReport]:
    """Convert the fp32 artifact of format ``f`` and its variants; install those that pass."""
    fp32_final = job.out / artifact_name(f, "none")
    fp32_tmp = temporary_path(fp32_final)
    tmp_files = [fp32_tmp]
    reports: list[ArtifactReport] = []
    passed: list[tuple[Path, Path]] = []
    try:
        # The fp32 file is always converted: it is the base for ONNX quantization and
        # the size reference for every variant of its format.
        try:
            _convert(job, f, "none", fp32_tmp, fp32_tmp)
        except ConversionError as e:
            return [failed_attempt(job.ref, fp32_final.name, f, m, e) for m in modes]
        base = _Base(fp32_tmp)
        for mode in modes:
            final = job.out / artifact_name(f, mode)
            tmp = fp32_tmp if mode == "none" else temporary_path(final)
            tmp_files.append(tmp)
            report = _build_and_validate(job, f, mode, tmp, base, final.name)
            reports.append(report)
            if report.ok:
                passed.append((tmp, final))
            elif report.size_bytes:
                logger.error("%s failed validation; keeping any existing %s", final.name, final.name)
        # Installed only after the format's variants are built: they all read the fp32 file.
        for tmp, final in passed:
            os.replace(tmp, final)
    finally:
        for tmp in tmp_files:
            tmp.unlink(missing_ok=True)
    return reports


def _export_as_is(job: _Job, f: str, modes: list[str]) -> list[ArtifactReport]:
    """A .tflite source's own mode, copied with metadata and seal, validated against its reference."""
    (mode,) = modes
    final = job.out / artifact_name(f, mode)
    tmp = temporary_path(final)
    try:
        report = _build_and_validate(job, f, mode, tmp, _Base(None), final.name)
        if report.ok:
            os.replace(tmp, final)
        return [report]
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Base:
    """The fp32 artifact a format's variants start from and are sized against (None: a .tflite taken as it is)."""

    path: Path | None

    @cached_property
    def size(self) -> int | None:
        return self.path.stat().st_size if self.path is not None else None

    @cached_property
    def weights(self) -> int | None:
        return weight_bytes(self.path) if self.path is not None else None


def _build_and_validate(job: _Job, f: str, mode: str, tmp: Path, base: _Base, name: str) -> ArtifactReport:
    """Quantize one variant into ``tmp`` (unless fp32, already there), validate it, and steer it if asked."""
    ref, steering = job.ref, job.steering
    io = job.io(f, mode)
    keep = steering.keep_float if supports_float_island(f, mode, io) else ()

    def build(path: Path, kept: tuple[str, ...]) -> None:
        _convert(job, f, mode, path, base.path, keep_float=kept)

    try:
        if mode != "none" or job.as_is:
            logger.info("%s %s (%s)", "writing" if job.as_is else "quantizing", name, mode)
            build(tmp, keep)
    except ConversionError as e:
        return failed_attempt(ref, name, f, mode, e)
    logger.info("validating %s on %d samples (%s)", name, len(ref.inputs), ref.data_source)
    validate = partial(
        validate_artifact, inputs=ref.inputs, labels=ref.labels, reference=ref.outputs,
        fp32_size=base.size, fp32_weight_bytes=base.weights, expected_sha256=ref.source_sha256,
        expected_io_names=ref.io_names if ref.keras_model is not None else None, name=name,
        data=ref.data_source, tie_margin=RANDOM_TIE_MARGIN if ref.synthetic and mode != "none" else 0.0,
    )
    try:
        report = validate(tmp, thresholds=steering.thresholds_for(job.thresholds[mode], keep))
        if steering.active and mode != "none":
            report = steer_variant(
                steering, report, fmt=f, mode=mode, io_dtype=io, tmp=tmp, model=ref.keras_model,
                layout=job.layout, images=ref.to_model_input(ref.inputs), build=build, validate=validate,
                thresholds=job.thresholds[mode],
            )
    except runtime.ModelFileError as e:  # the converter wrote something the runtime refuses
        return failed_attempt(ref, name, f, mode, ConversionError(str(e).replace(str(tmp), name)))
    if job.signing_key is not None and mode != "none":
        seal_artifact(tmp, job.signing_key)  # the writers sealed it; now signed too
    return report


def _convert(job: _Job, f: str, mode: str, path: Path, fp32: Path | None, *, keep_float: tuple[str, ...] = ()) -> None:
    """Write one sealed artifact (the format's build, ``export.formats``), naming the artifact, not the temp
    file, on failure."""
    ref = job.ref
    calibrated = mode in CALIBRATED_MODES and not job.as_is
    quant = Quantization(
        mode=mode,
        io_dtype=job.io(f, mode),
        calibration_samples=len(ref.calibration) if calibrated else None,
        seed=job.seed if calibrated else None,
    )
    extra = {RECIPE_KEY: {"kept_float": list(keep_float)}} if keep_float else {}
    if job.as_is:
        from .tflite_source import tflite_io_metadata

        extra = tflite_io_metadata(ref.source.tflite)
    meta = ref.metadata(f, quant, **extra)
    key = (f, mode, keep_float)
    if key in job.written:  # e.g. the fp32 .tflite that --format tflite, c and tflm all start from
        path.write_bytes(job.written[key])
        return
    conversion = Conversion(
        ref, mode, path, meta, fp32=fp32, io_dtype=quant.io_dtype, calibration=ref.calibration if calibrated else None,
        keep_float=keep_float, layout=job.layout, opset=job.opset, saved_models=job.saved_models,
    )
    try:
        get_format(f).build(conversion)
    except (ConversionError, UnknownLayerError):  # UnknownLayerError: a kept layer with no ops in the graph
        raise
    except Exception as e:  # converters raise many unrelated types; name the artifact, not the temp file
        text = " ".join(str(e).replace(str(path), artifact_name(f, mode)).split())
        raise ConversionError(f"{artifact_name(f, mode)}: conversion failed ({type(e).__name__}: {text})") from e
    if (mode == "none" or job.as_is) and job.signing_key is not None:
        seal_artifact(path, job.signing_key)
    if f == "tflite":
        job.written[key] = path.read_bytes()


def _export_embedded(job: _Job, f: str, modes: list[str]) -> list[ArtifactReport]:
    """C or TFLM sources of each mode, made from that mode's .tflite once it passed validation."""
    sources = {m: temporary_path(job.out / f"model.{f}-source.{m}.tflite") for m in ("none", *modes)}
    reports = []
    try:
        base = _Base(None)
        if not job.as_is:  # a converted source: the fp32 .tflite first (the size reference)
            try:
                _convert(job, "tflite", "none", sources["none"], sources["none"])
            except ConversionError as e:
                return [failed_attempt(job.ref, artifact_name(f, m), f, m, e) for m in modes]
            base = _Base(sources["none"])
        for mode in modes:
            name = artifact_name(f, mode)
            check = _build_and_validate(
                replace(job, steering=Steering()), "tflite", mode, sources[mode], base, artifact_name("tflite", mode),
            )
            # a .tflite taken as it is was not converted here: its C is judged on its own, byte for byte
            # against TFLite Micro, whatever LiteRT's own kernels make of the same file
            if not check.ok and not job.as_is:
                error = ConversionError(f"its source {check.artifact} failed: {'; '.join(check.failures)}")
                reports.append(failed_attempt(job.ref, name, f, mode, error))
                continue
            logger.info("generating %s from %s", name, check.artifact)
            try:
                reports.append(export_embedded(
                    f, mode, sources[mode], job.out, prefix=job.c_prefix, ref=job.ref,
                    thresholds=job.thresholds[mode], tflite_report=check, signing_key=job.signing_key,
                ))
            except UnsupportedOpError:
                raise  # the model cannot become C at all: a usage error, not a failed variant
            except ConversionError as e:
                reports.append(failed_attempt(job.ref, name, f, mode, e))
    finally:
        for path in sources.values():
            path.unlink(missing_ok=True)
    return reports
