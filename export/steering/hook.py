"""The export pipeline's hook for issue 11: per-layer report, float layers, target search.

``run_export`` builds and validates a quantized variant as before, then hands it here
(``steer_variant``) with two callables: ``build(path, keep_float)`` re-quantizes the
variant with some Keras layers left in float, ``validate(path)`` validates a file.
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UnsupportedFormatError
from .layer_map import KerasLayout
from .layer_report import LayerReport, layer_report
from .mixed_precision import (
    RECIPE_KEY,
    SearchStep,
    Steering,
    check_layer_names,
    p50_latency_us,
    search_target,
    supports_float_island,
)
from ..results import ArtifactReport
from ..validate import Thresholds

logger = logging.getLogger(__name__)


def check_steering(steering: Steering, variants: list[tuple[str, str, str]], model) -> KerasLayout | None:
    """Check --keep-float names and that some (format, mode, io dtype) variant can keep layers in float."""
    if not steering.active:
        return None
    layout = KerasLayout.from_model(model)
    check_layer_names(steering.keep_float, layout)
    wants_island = steering.keep_float or steering.target_agreement is not None
    if wants_island and not any(supports_float_island(*v) for v in variants):
        raise UnsupportedFormatError(
            "--keep-float/--target-agreement need a variant that can keep layers in float: onnx dynamic, "
            f"onnx int8, or tflite int8 with --io-dtype float32; requested {[f'{f} {m} ({io} I/O)' for f, m, io in variants]}"
        )
    return layout


def steer_variant(
    steering: Steering,
    report: ArtifactReport,
    *,
    fmt: str,
    mode: str,
    io_dtype: str,
    tmp: Path,
    model,
    layout: KerasLayout,
    images: np.ndarray,
    build: Callable[[Path, tuple[str, ...]], None],
    validate: Callable[..., ArtifactReport],
    thresholds: Thresholds,
) -> ArtifactReport:
    """Add the layer report and run the target search for one built variant at ``tmp``.

    ``validate(path, thresholds=...)`` validates a file. Candidates with float layers are
    held to ``steering.max_size_ratio`` instead of the mode's size limit (none by default:
    their size is the price the recipe reports).
    """
    base = None
    if steering.layer_report or steering.target_agreement is not None:
        logger.info("per-layer error of %s", report.artifact)
        base = layer_report(tmp, model, images, layout=layout, name=report.artifact)
        report = replace(report, layer_report=base.to_dict())
    island = supports_float_island(fmt, mode, io_dtype)
    if steering.keep_float or steering.target_agreement is not None:
        recipe = {"kept_float": list(steering.keep_float) if island else []}
        if not island:
            recipe["skipped"] = f"{fmt} {mode} with {io_dtype} I/O cannot keep layers in float"
        report = replace(report, recipe=recipe)
    if steering.target_agreement is None or not island:
        return report
    return _search(
        steering, report, base, tmp=tmp, images=images, build=build,
        validate=lambda path, kept: validate(path, thresholds=steering.thresholds_for(thresholds, kept)),
    )


def _search(steering, report, base: LayerReport, *, tmp, images, build, validate) -> ArtifactReport:
    tries: dict[tuple[str, ...], Path] = {}

    def trial(kept: tuple[str, ...]) -> SearchStep:
        path = tmp if kept == steering.keep_float else tmp.with_name(f"{tmp.stem}.try{len(tries)}{tmp.suffix}")
        if path != tmp:
            build(path, kept)
        tries[kept] = path
        r = validate(path, kept)
        return SearchStep(list(kept), r.agreement, r.accuracy, r.size_bytes, p50_latency_us(path, images[0]), r.ok)

    try:
        result = search_target(steering.target_agreement, base.ranked(), steering.keep_float, trial)
        best = tries[tuple(result.best.kept_float)]
        if best != tmp:
            os.replace(best, tmp)
        _embed_recipe(tmp, result.recipe())
    finally:
        for path in tries.values():
            if path != tmp:
                path.unlink(missing_ok=True)
    final = validate(tmp, tuple(result.best.kept_float))
    final = replace(final, artifact=report.artifact, layer_report=report.layer_report, recipe=result.recipe())
    if not result.reached:
        logger.warning(
            "%s: target agreement %.4f not reached; best %.4f keeping %s in float",
            report.artifact, result.target, result.best.agreement, result.best.kept_float,
        )
    return final


def _embed_recipe(path: Path, recipe: dict) -> None:
    """Rewrite the artifact's edgeport metadata with the recipe under ``quantization_recipe``."""
    import runtime
    from runtime.metadata import ModelMetadata

    from ..metadata import embed_onnx, embed_tflite
    from runtime.files import write_bytes_atomic

    from ..seal import seal_bytes

    meta = runtime.load(path).metadata
    meta = ModelMetadata(**{**meta.__dict__, "extra": {**meta.extra, RECIPE_KEY: recipe}})
    if path.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(path))
        embed_onnx(proto, meta)
        data = proto.SerializeToString()
    else:
        data = embed_tflite(path.read_bytes(), meta)
    # new metadata, new seal (a signing key, if any, signs it later)
    write_bytes_atomic(path, seal_bytes(data))


def format_steering(reports: list[ArtifactReport]) -> str:
    """Markdown sections: one per-layer table and one search summary per artifact."""
    parts = []
    for r in reports:
        if r.layer_report:
            lr = r.layer_report
            rows = [_row(x) for x in lr["rows"]]
            report = LayerReport(lr["artifact"], lr["samples"], rows, lr["skipped"], lr.get("simulated_agreement"))
            parts.append(report.to_markdown())
        if r.recipe:
            parts.append(_format_recipe(r.artifact, r.recipe))
    return "\n\n".join(parts)


def _row(d: dict):
    from .layer_report import LayerRow

    return LayerRow(**d)


def _format_recipe(artifact: str, recipe: dict) -> str:
    if "skipped" in recipe:
        return f"### float layers: {artifact}\n\nnone: {recipe['skipped']}"
    if "steps" not in recipe:
        return f"### float layers: {artifact}\n\nkept in float: {', '.join(recipe['kept_float'])}"
    lines = [
        f"### target agreement {recipe['target_agreement']:.4%}: {artifact} "
        f"({'reached' if recipe['reached'] else 'NOT reached'}; kept in float: {recipe['kept_float'] or 'none'})",
        "",
        "| kept in float | agreement | accuracy | size (bytes) | p50 batch 1 (us) | valid |",
        "|---|---|---|---|---|---|",
    ]
    for s in recipe["steps"]:
        lines.append(
            f"| {', '.join(s['kept_float']) or '-'} | {s['agreement']:.4%} | {s['accuracy']:.4f} | "
            f"{s['size_bytes']:,} | {s['p50_us']:.1f} | {'yes' if s['ok'] else 'no'} |"
        )
    return "\n".join(lines)
