"""``--format c`` and ``--format tflm``: microcontroller sources made from a validated ``.tflite``.

For each mode, the ``.tflite`` of that mode is converted and validated against Keras
through the runtime first. Then:

- ``c``: C99 inference (``export.csrc``) is generated, compiled for this machine and run
  on every validation sample: int8 output bytes must equal TFLite Micro's, fp32 outputs
  LiteRT's within the fp32 tolerance (``max_abs_diff`` scaled by the outputs' magnitude, see
  ``export.validate.fp32_tolerance``); its outputs are also judged against the reference with the
  mode's thresholds. Beside ``<base>.c``/``.h`` goes the ``<base>/`` library folder
  (``export.c_library``: CMake, Arduino, PlatformIO, an example);
- ``tflm``: the ``.tflite`` as a C array with the arena size TFLite Micro needs, measured.

Files go to a hidden temporary folder in the output folder and are renamed into place
(header first, the library folder last) only when everything passed, so no half-written
``.c`` is ever left.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import runtime
from runtime.files import install, install_folder, write_bytes_atomic

from .c_library import write_c_library
from .formats import artifact_name, get_format
from .results import ArtifactReport, CSourceCheck, TflmSource, metrics_for
from .validate import compare_outputs, fp32_tolerance, judge

logger = logging.getLogger(__name__)

SIGNATURE_SUFFIX = ".sig"  # detached signatures of the sources: model.int8.c.sig, model.int8.h.sig


def export_embedded(
    fmt: str, mode: str, tflite: Path, out: Path, *, prefix: str, ref, thresholds, tflite_report: ArtifactReport,
    signing_key=None,
) -> ArtifactReport:
    """Generate, validate and install the ``fmt`` sources of the validated ``tflite``.

    With ``signing_key`` (Ed25519), each installed file gets a detached signature beside it,
    ``<file>.sig``: the 64-byte signature of the file's exact bytes (``openssl pkeyutl -verify
    -rawin`` checks it). Without one, stale ``.sig`` files of an earlier signed run are removed.
    """
    name, base = artifact_name(fmt, mode), get_format(fmt).base_name(mode)
    staging = out / f".tmp-{os.getpid()}-{base}"
    staging.mkdir(exist_ok=True)
    try:
        c_path, h_path = get_format(fmt).build(tflite, staging, prefix=prefix, base_name=base,
                                               source_name=tflite_report.artifact)
        if fmt == "c":
            report = _validate_c(c_path, tflite, ref, thresholds, name, mode)
            library = staging / "library"
            if report.ok:
                write_c_library(library, c_path, prefix=prefix, source=tflite_report.artifact)
        else:
            report = _tflm_report(tflite_report, name, c_path)
        if report.ok:
            staged = [h_path, c_path]  # header first: a source never stands without it
            if signing_key is not None:
                staged += [_sign_detached(path, signing_key) for path in (h_path, c_path)]
                report = replace(report, embedded=replace(report.embedded, signatures=tuple(p.name for p in staged[2:])))
            install([(path, out / path.name) for path in staged])
            if signing_key is None:
                for path in (h_path, c_path):
                    (out / f"{path.name}{SIGNATURE_SUFFIX}").unlink(missing_ok=True)
            if fmt == "c":
                install_folder(library, out / base)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sign_detached(path: Path, signing_key) -> Path:
    """Write ``<path>.sig``: the Ed25519 signature of ``path``'s bytes (raw, 64 bytes)."""
    sig = path.with_name(path.name + SIGNATURE_SUFFIX)
    write_bytes_atomic(sig, signing_key.sign(path.read_bytes()))
    return sig


def _validate_c(c_path: Path, tflite: Path, ref, thresholds, name: str, mode: str) -> ArtifactReport:
    from .csrc import validate_c
    from .csrc.host import read_api

    native = runtime.load(tflite, num_threads=1).engine_input(ref.inputs)
    exact = validate_c(c_path, tflite, native, tolerance=fp32_tolerance(thresholds.max_abs_diff, ref.outputs))
    api = read_api(c_path.with_suffix(".h"))
    got = np.asarray(exact.outputs, dtype=np.float32).reshape(len(native), -1)
    if api["output_t"] != "float" and api["OUTPUT_SCALE"] is not None:
        got = (got - np.float32(api["OUTPUT_ZERO_POINT"])) * np.float32(api["OUTPUT_SCALE"])
    metrics = compare_outputs(got, ref.outputs, ref.labels, ref.facts.task)
    failures = list(exact.failures) + judge(metrics, thresholds, None, None)
    return ArtifactReport(
        artifact=name, format="c", mode=mode, io_dtype=api["input_t"].replace("_t", ""),
        size_bytes=c_path.stat().st_size, size_ratio=None, samples=len(native),
        metrics=metrics_for(ref.facts.task, metrics), max_abs_diff=metrics["max_abs_diff"],
        max_scaled_diff=metrics["max_scaled_diff"], weight_ratio=metrics["weight_ratio"],
        thresholds=asdict(thresholds), failures=tuple(failures), task=ref.facts.task, data=ref.data_source,
        embedded=CSourceCheck(
            header=c_path.with_suffix(".h").name,
            scratch_bytes=api["SCRATCH_BYTES"],
            exact_against="TFLite Micro (output bytes)" if exact.mode == "int8"
            else f"LiteRT (|diff| <= {exact.tolerance:.3g})",
            mismatched_samples=exact.mismatched_images,
            verify=exact.verify_result,
        ),
    )


def _tflm_report(source: ArtifactReport, name: str, cc: Path) -> ArtifactReport:
    """The .tflite's own validation (the array holds its exact bytes), under the .cc's name."""
    return replace(
        source, artifact=name, format="tflm", size_bytes=cc.stat().st_size, size_ratio=None,
        embedded=TflmSource(header=cc.with_suffix(".h").name, validated_as=source.artifact),
    )


