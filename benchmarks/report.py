"""Render the report: Markdown, JSON, and a latency plot, each written atomically."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.files import write_atomic

from .analysis import batch_at as _batch

JSON_NAME, MD_NAME, PNG_NAME = "benchmark.json", "benchmark.md", "latency.png"


# --- formatting -------------------------------------------------------------


def fmt_ms(ms: float | None) -> str:
    """A latency given in ms, in a readable unit."""
    if ms is None:
        return "n/a"
    if ms < 1.0:
        return f"{ms * 1000:.1f} µs"
    if ms < 1000.0:
        return f"{ms:.2f} ms"
    return f"{ms / 1000:.2f} s"


def fmt_s(s: float) -> str:
    """A duration given in seconds, in a readable unit."""
    return fmt_ms(s * 1000.0)


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def _fmt_ratio(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "x":
        return f"{v:,.0f}x" if v >= 100 else f"{v:.1f}x"
    if unit == "%":
        return f"{v:+.1f}%"
    if unit == "x.xx":  # a ratio near 1 (e.g. default / best thread setting)
        return f"{v:.2f}x"
    return f"{v:.3f} (1/{1 / v:.1f})" if v > 0 else f"{v:.3f}"


def _status(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[met]


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _precision(entry: dict[str, Any], artifacts: dict[str, dict[str, Any]]) -> str:
    row = artifacts.get(entry.get("artifact") or "")
    return row["precision"] if row else "fp32"


# --- markdown ---------------------------------------------------------------


def quality_metric(result: dict[str, Any]) -> str:
    """``accuracy`` or ``mae``: what the report's quality figures are (reports without a ``quality``
    block are classifiers')."""
    return (result.get("quality") or {}).get("metric", "accuracy")


def fmt_quality(entry: dict[str, Any], metric: str) -> str:
    """A subject's quality cell: accuracy as a percentage, MAE as a number."""
    return f"{entry['accuracy'] * 100:.2f}%" if metric == "accuracy" else f"{entry['mae']:.4g}"


def results_table(result: dict[str, Any]) -> str:
    """The main table: one row per subject; the quality column is the task's (accuracy or MAE)."""
    sizes = result["config"]["batch_sizes"]
    artifacts = {a["file"]: a for a in result["artifacts"]}
    metric = quality_metric(result)
    header = ["Subject", "Backend", "Precision", "Size", "Test acc." if metric == "accuracy" else "Test MAE",
              "p50 @1", "p90 @1", "p99 @1"]
    header += [f"samples/s @{bs}" for bs in sizes]
    header += ["vs Keras predict", "wrapper overhead", "overhead, per-round median"]
    rows = []
    for e in result["subjects"]:
        b1 = _batch(e, 1)["latency_ms"]
        row = [
            f"`{e['id']}`", e["backend"], _precision(e, artifacts), fmt_bytes(e["size_bytes"]),
            fmt_quality(e, metric), fmt_ms(b1["p50"]), fmt_ms(b1["p90"]), fmt_ms(b1["p99"]),
        ]
        row += [f"{_batch(e, bs)['throughput_sps']:,.0f}" for bs in sizes]
        row += [
            _fmt_ratio(e["ratios"]["speedup_vs_keras_predict"], "x"),
            _fmt_ratio(e["ratios"]["wrapper_overhead_pct"], "%") if e["kind"] == "runtime" else "",
            _fmt_ratio((e["ratios"].get("wrapper_overhead_pct_by_round") or {}).get("median"), "%")
            if e["kind"] == "runtime" else "",
        ]
        rows.append(row)
    return _table(header, rows, "lllrr" + "r" * (len(header) - 5))


def latency_table(result: dict[str, Any], bs: int = 1) -> str:
    header = ["Subject", "min", "mean", "std", "p50", "p90", "p95", "p99", "max", "runs"]
    rows = []
    for e in result["subjects"]:
        b = _batch(e, bs)
        s = b["latency_ms"]
        rows.append([f"`{e['id']}`"] + [fmt_ms(s[k]) for k in header[1:-1]] + [str(b["runs"])])
    return _table(header, rows)


def p50_table(result: dict[str, Any]) -> str:
    sizes = result["config"]["batch_sizes"]
    header = ["Subject"] + [f"p50 @{bs}" for bs in sizes] + [f"vs Keras predict @{bs}" for bs in sizes]
    rows = []
    for e in result["subjects"]:
        bs_rows = [_batch(e, bs) for bs in sizes]
        rows.append(
            [f"`{e['id']}`"]
            + [fmt_ms(b["latency_ms"]["p50"]) for b in bs_rows]
            + [_fmt_ratio(b.get("speedup_vs_keras_predict"), "x") for b in bs_rows]
        )
    return _table(header, rows)


def raw_pixels_table(result: dict[str, Any]) -> str | None:
    """Runtime subjects of float-input artifacts, fed raw uint8 pixels instead."""
    sizes = result["config"]["batch_sizes"]
    rows = []
    for e in result["subjects"]:
        raw = e.get("raw_pixel_input")
        if e["kind"] != "runtime" or not raw:
            continue
        bs_rows = [next(b for b in raw["batches"] if b["batch_size"] == bs) for bs in sizes]
        rows.append(
            [f"`{e['id']}`"]
            + [fmt_ms(b["latency_ms"]["p50"]) for b in bs_rows]
            + [_fmt_ratio(b.get("overhead_vs_bare_pct"), "%") for b in bs_rows]
        )
    if not rows:
        return None
    header = ["Subject"] + [f"p50 @{bs}" for bs in sizes] + [f"vs bare (fed floats) @{bs}" for bs in sizes]
    return _table(header, rows)


def cold_start_table(result: dict[str, Any]) -> str:
    header = ["Subject", "import", "load", "first inference", "total", "process wall", "peak RSS", "TensorFlow imported"]
    rows = [
        [
            f"`{c['subject']}`", fmt_s(c["import_s"]), fmt_s(c["load_s"]), fmt_s(c["first_inference_s"]),
            fmt_s(c["total_s"]), fmt_s(c["process_wall_s"]), fmt_bytes(c["peak_rss_bytes"]),
            "yes" if c["tensorflow_imported"] else "no",
        ]
        for c in result["cold_start"]
    ]
    return _table(header, rows)


def targets_table(result: dict[str, Any]) -> str:
    header = ["Target", "Measured", "Bound", "Status", "Detail"]
    rows = [
        [
            t["description"], _fmt_ratio(t["value"], t["unit"]),
            f"{t['comparison']} {_fmt_ratio(t['bound'], t['unit']).lstrip('+')}",
            _status(t["met"]), t["detail"],
        ]
        for t in result["targets"]
    ]
    return _table(header, rows, "lrrll")


def provenance_warning(result: dict[str, Any]) -> list[str]:
    """A loud block when the artifacts and model.keras are not the same model (else nothing)."""
    prov = result.get("provenance") or {}
    if not prov.get("problems"):
        return []
    lines = ["> **WARNING: these artifacts were not all exported from this `model.keras`.** "
             "Keras accuracy and every ratio against Keras compare different models."]
    lines += [f"> - {p}" for p in prov["problems"]]
    return lines + [""]


def _quality_note(result: dict[str, Any]) -> list[str]:
    """One line saying what the quality column is, for a report that records it."""
    q = result.get("quality")
    return ["", f"Quality ({q['task']} model): {q['definition']}."] if q else []


def to_markdown(result: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    cfg, m, env = result["config"], result["measurement"], result["environment"]
    met = sum(t["met"] is True for t in result["targets"])
    parts = [
        "# edgeport benchmark",
        "",
        f"{result['created_utc']} · `{cfg['model_dir']}` · {m['mode']} mode · threads={cfg['threads']} · "
        f"batch sizes {', '.join(map(str, cfg['batch_sizes']))} · "
        f"{m['test_samples']} test images · wall time {result.get('wall_time_s', 0):.1f} s",
        "",
        *provenance_warning(result),
        "## Results",
        "",
        "Latency is wall time per call; `@N` is the batch size. Every subject gets its input tensor "
        "ready-made from the same test inputs (float32: raw pixels times the artifacts' pixel scale, or "
        "the data's own floats; raw uint8 pixels for a uint8-input model), and a runtime subject gets exactly the array its bare backend call gets. "
        "*vs Keras predict* = Keras `predict` p50 / subject p50 at batch 1; "
        "*wrapper overhead* = runtime p50 / its bare backend call p50 - 1 (the target's measure); "
        "*per-round median* = the same ratio taken in each alternating round, then the median "
        "(a check against machine noise). Bare calls: onnxruntime "
        "`session.run`, LiteRT public `set_tensor/invoke/get_tensor`.",
        *_quality_note(result),
        "",
        results_table(result),
        "",
        f"## Targets ({met}/{len(result['targets'])} met)",
        "",
        targets_table(result),
        "",
        "## Latency per call at batch 1",
        "",
        latency_table(result),
        "",
        "## p50 latency at every batch size",
        "",
        p50_table(result),
        "",
        *_section(
            "## Runtime fed raw uint8 pixels",
            "The runtime's main input contract: pixel scaling happens inside the timed call, so "
            "this includes preprocessing the bare call was spared.",
            raw_pixels_table(result),
        ),
        *_section(
            "## Thread defaults: default vs explicit `num_threads`",
            "Median call time (µs) of `runtime.load(path)` and of every explicit `num_threads`, in "
            "alternating rounds; *idle* adds no load (other processes on a shared machine may still "
            "run), *one core busy* runs a spinning process pinned to the last core meanwhile. "
            "Bold: the best explicit setting.",
            _thread_table(result),
        ),
        *_mcu_section(result),
        f"## Cold start (fresh process, median of {m['cold_start_repeats']})",
        "",
        "import + load + first prediction, each timed inside the child; peak RSS is the child's "
        "high-water mark (VmHWM). Runtime children import only `runtime`.",
        "",
        cold_start_table(result),
        "",
        *_measurement_section(m),
        *_environment_section(env),
    ]
    if result.get("skipped_artifacts"):
        parts += ["Skipped artifacts:", ""]
        parts += [f"- `{s['file']}`: {s['reason']}" for s in result["skipped_artifacts"]]
        parts.append("")
    return "\n".join(parts)


def _measurement_section(m: dict[str, Any]) -> list[str]:
    return [
        "## Measurement",
        "",
        f"- warm-up: {m['warmup_runs']} calls; then timed until >= {m['min_time_s']:g} s and >= "
        f"{m['min_runs']} calls (cap {m['max_time_s']:g} s); runtime/bare pairs in {m['rounds']} "
        f"alternating round(s); {m['timer']}; gc disabled while timing",
        f"- input: {m['input']}",
        "- throughput = batch size x calls / sum of per-call times; speedups and overheads compare p50s",
        "- Keras baselines run in a dedicated subprocess; TensorFlow is never imported by the benchmark process",
        "",
    ]


def _environment_section(env: dict[str, Any]) -> list[str]:
    pk = env["packages"]
    return [
        "## Environment",
        "",
        f"- CPU: {env['cpu_model']} · {env['logical_cores']} logical / {env['physical_cores']} physical cores"
        f" ({env['usable_cores']} usable) · load average {_load(env.get('load_average'))} at start, "
        f"{_load(env.get('load_average_end'))} at end",
        f"- {env['os']} · Python {env['python']} · numpy {pk['numpy']} ({env['numpy_blas']['name']}) · "
        f"onnxruntime {pk['onnxruntime']} · ai-edge-litert {pk['ai-edge-litert']} · "
        f"tensorflow {pk['tensorflow']} · keras {pk['keras']}",
        f"- threads requested: {env['threads_requested']} · onnxruntime "
        f"`session.intra_op.allow_spinning` = {env['onnxruntime_spinning']['session.intra_op.allow_spinning']}"
        f" · OPENBLAS_CORETYPE = {env['OPENBLAS_CORETYPE'] or 'unset'}",
        "",
        "Thread settings per subject:",
        "",
        *[f"- `{sid}`: {_settings(s)}" for sid, s in env["thread_settings"].items()],
        "",
    ]


def _mcu_section(result: dict[str, Any]) -> list[str]:
    if not result.get("mcu"):
        return []
    from .mcu.table import mcu_markdown

    lines = ["## Microcontrollers under QEMU (`--mcu`)", "", mcu_markdown(result["mcu"]), ""]
    if result.get("mcu_profile"):
        from .mcu.profile import profile_markdown

        lines += ["## Instructions per op on the Cortex-M4F (`--mcu --profile`)", "",
                  profile_markdown(result["mcu_profile"]), ""]
    return lines


def _thread_table(result: dict[str, Any]) -> str | None:
    from .threadcheck import format_sweep

    rows = result.get("thread_defaults") or []
    return format_sweep(rows) if rows else None


def _section(title: str, text: str, table: str | None) -> list[str]:
    return [] if table is None else [title, "", text, "", table, ""]


def _load(values: list[float] | None) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "n/a"


def _settings(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


# --- plot -------------------------------------------------------------------


def plot_latency(result: dict[str, Any]) -> Any:
    """Horizontal grouped bars of p50 latency (log scale) per subject and batch size."""
    from matplotlib.figure import Figure

    subjects = result["subjects"]
    sizes = result["config"]["batch_sizes"]
    fig = Figure(figsize=(10, 1.5 + 0.42 * len(subjects) * max(1, len(sizes)) / 2), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / len(sizes)
    for j, bs in enumerate(sizes):
        ys = [i + (j - (len(sizes) - 1) / 2) * height for i in range(len(subjects))]
        p50 = [_batch(e, bs)["latency_ms"]["p50"] for e in subjects]
        p90 = [_batch(e, bs)["latency_ms"]["p90"] for e in subjects]
        ax.barh(ys, p50, height=height, label=f"batch {bs}",
                xerr=[[0] * len(p50), [b - a for a, b in zip(p50, p90)]], capsize=2)
    ax.set_yticks(range(len(subjects)), [e["id"] for e in subjects])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("latency per call, ms (log scale; bar = p50, whisker = p90)")
    ax.set_title(
        f"edgeport latency by subject and batch size ({result['measurement']['mode']} mode, "
        f"threads={result['config']['threads']})"
    )
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="upper right")
    return fig


# --- writing ----------------------------------------------------------------


def write_outputs(result: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Write benchmark.json, benchmark.md and latency.png into ``out_dir``; return their paths."""
    outputs = {"json": str(out_dir / JSON_NAME), "markdown": str(out_dir / MD_NAME), "png": str(out_dir / PNG_NAME)}
    result["outputs"] = outputs
    fig = plot_latency(result)
    write_atomic(out_dir / PNG_NAME, lambda f: fig.savefig(f, format="png", dpi=110), mode="wb")
    markdown = to_markdown(result)
    write_atomic(out_dir / MD_NAME, lambda f: f.write(markdown))
    text = json.dumps(result, indent=2, sort_keys=False, allow_nan=False)
    write_atomic(out_dir / JSON_NAME, lambda f: f.write(text + "\n"))
    return outputs
