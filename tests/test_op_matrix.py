"""Per-op matrix (issue 16 item 5): the generated C of each small one-op model against the reference.

The models are committed in tests/fixtures/ops/ (``python -m tests.opmodels`` regenerates them);
manifest.json names each case's settings. Integer models must give TFLite Micro's bytes exactly;
float models must stay within the C validator's tolerance of LiteRT. The C of every selected case
is generated and compiled (host cc, strict flags) once, in parallel, before the first comparison.
"""
from __future__ import annotations

import hashlib
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from export.tflite_source import litert_outputs, tflm_outputs
from tests.opmodels import ACTIVATIONS, FIXTURES, MANIFEST, cases
from tests.tools import require

CASES = json.loads(MANIFEST.read_text())["cases"]
N_INPUTS = 200
REQUIRED_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "SOFTMAX",
                "LOGISTIC", "RESHAPE", "QUANTIZE", "ADD", "SUB", "MUL", "MEAN", "PAD", "CONCATENATION", "RELU",
                "RELU6", "LEAKY_RELU", "HARD_SWISH", "TANH", "DEQUANTIZE")


def _case_name(item) -> str | None:
    """The matrix case a collected test item runs, if it is one of this module's."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or Path(item.path).resolve() != Path(__file__).resolve():
        return None
    case = callspec.params.get("case")
    return case["name"] if isinstance(case, dict) else None


def _build(case: dict, out: Path):
    """The case's C compiled for this machine (a HostCModel), or the exception that stopped it."""
    from export.csrc import HostCModel, export_c

    try:
        tflite = FIXTURES / case["file"]
        digest = hashlib.sha256(tflite.read_bytes()).hexdigest()
        if digest != case["sha256"]:
            raise ValueError(f"{tflite.name}: sha256 {digest[:12]}..., manifest says {case['sha256'][:12]}...; "
                             "regenerate with `python -m tests.opmodels`")
        c_path, _ = export_c(tflite, out / case["name"], base_name="model")
        return HostCModel(c_path)
    except Exception as e:  # reported by the case's own test
        return e


class _Builds:
    """Compiled cases by name, built on first use."""

    def __init__(self, out: Path) -> None:
        self.out, self.models = out, {}

    def prefetch(self, cases: list[dict]) -> None:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # the compiler runs outside the GIL
            self.models.update(zip([c["name"] for c in cases], pool.map(lambda c: _build(c, self.out), cases)))

    def get(self, case: dict):
        if case["name"] not in self.models:
            self.models[case["name"]] = _build(case, self.out)
        return self.models[case["name"]]


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The cases' compiled C. In a plain run every selected case is compiled up front, in parallel;
    under pytest-xdist each worker compiles only the cases it runs."""
    from export.csrc.host import find_cc

    require(find_cc(), "a C compiler (cc/gcc/clang)")
    builds = _Builds(tmp_path_factory.mktemp("op_matrix"))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        names = {_case_name(item) for item in request.session.items} - {None}
        builds.prefetch([c for c in CASES if c["name"] in names])
    yield builds
    for model in builds.models.values():
        if not isinstance(model, Exception):
            model.close()


def _inputs(case: dict) -> np.ndarray:
    """Random inputs over the input's whole domain (integers) or beyond the calibration range (floats)."""
    rng = np.random.default_rng(zlib.crc32(case["name"].encode()))
    shape, dtype = (N_INPUTS, *case["input"]["shape"][1:]), case["input"]["dtype"]
    if dtype in ("int8", "uint8"):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        x[0], x[1] = info.min, info.max
        return x
    x = rng.normal(0.0, 1.0, size=shape).astype(np.float32)
    x[0] *= 4.0  # calibration drew from N(0, 1): saturate the int8 inside a float-I/O model
    return x


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_c_equals_reference(case, built):
    from export.csrc.validate import FP32_TOLERANCE
    from export.validate import fp32_tolerance

    model = built.get(case)
    if isinstance(model, Exception):
        pytest.fail(f"{case['name']} ({' '.join(o['op'] for o in case['ops'])}): {type(model).__name__}: {model}")
    assert model.verify() == 0
    x = _inputs(case)
    got = model.predict_raw(x)
    tflite = FIXTURES / case["file"]
    if case["settings"]["io"] == "fp32":
        ref = litert_outputs(tflite.read_bytes(), x)
        tolerance = fp32_tolerance(FP32_TOLERANCE, ref)  # export's rule: grows with the outputs' magnitude
        diff = np.abs(got.astype(np.float64) - ref)
        assert diff.max() <= tolerance, f"max |diff| {diff.max():g} > {tolerance:g} vs LiteRT, rows {np.flatnonzero(diff.max(1) > tolerance)}"
    else:
        ref = tflm_outputs(tflite, x)
        assert got.dtype == ref.dtype and got.shape == ref.shape, (got.dtype, got.shape, ref.dtype, ref.shape)
        bad = np.flatnonzero(np.any(got != ref, axis=1))
        worst = np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()
        assert bad.size == 0, f"{bad.size} of {len(x)} inputs differ from TFLite Micro (rows {bad}, max |diff| {worst:g})"


# ---------------------------------------------------------------- the matrix itself

def test_manifest_is_the_generators_grid():
    assert [c["name"] for c in CASES] == [c.name for c in cases()], "stale manifest: run `python -m tests.opmodels`"
    assert sorted(p.name for p in FIXTURES.glob("*.tflite")) == sorted(c["file"] for c in CASES)


def test_grid_covers_the_settings():
    by_op: dict[str, list[dict]] = {}  # one-op cases (and op + neighbours), not the whole models
    for c in CASES:
        if not c["name"].startswith("model_"):
            by_op.setdefault(c["op"], []).append(c)
    missing = [op for op in REQUIRED_OPS if op not in by_op and not any(o["op"] == op for c in CASES for o in c["ops"])]
    assert not missing, missing
    for op in REQUIRED_OPS:
        ios = {c["settings"]["io"] for c in CASES if any(o["op"] == op for o in c["ops"])}
        assert ("fp32" in ios or op in ("QUANTIZE", "DEQUANTIZE")) and ios - {"fp32"}, (op, ios)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D", "ADD"):
        for io in ("int8", "fp32"):
            acts = {o.get("activation", "NONE") for c in by_op[op] if c["settings"]["io"] == io for o in c["ops"] if o["op"] == op}
            assert acts == set(ACTIVATIONS), (op, io, acts)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"):
        settings = [c["settings"] for c in by_op[op]]
        assert {s["padding"] for s in settings} == {"SAME", "VALID"}
        assert {tuple(s["stride"]) for s in settings} >= {(1, 1), (2, 2)}
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        assert any(tuple(c["settings"]["dilation"]) != (1, 1) for c in by_op[op])
    assert {c["settings"]["depth_multiplier"] for c in by_op["DEPTHWISE_CONV_2D"]} >= {1, 2, 3}
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        scales = {o["weight_scales"] > 1 for c in by_op[op] if c["settings"]["io"] != "fp32" for o in c["ops"] if o["op"] == op}
        assert scales == {True, False}, op  # per-channel and per-tensor weights
        assert "uint8" in {c["settings"]["io"] for c in by_op[op]}
    for op in ("ADD", "SUB", "MUL"):
        others = {json.dumps(c["settings"]["other"]) for c in by_op[op]}
        assert {"[3]", "[]", '"mean"'} <= others, (op, others)  # broadcast: per channel, scalar, activation


def test_generator_reproduces_the_committed_files(tmp_path):
    """Same TensorFlow, same bytes: two cases regenerated from scratch."""
    from tests.opmodels import generate

    names = ["conv_7x7k3x3s2x2same_relu6_pc_int8", "add_c3_fp32"]
    manifest = generate(tmp_path, only=names)
    regenerated = {c["name"]: c["sha256"] for c in manifest["cases"]}
    assert regenerated == {c["name"]: c["sha256"] for c in CASES if c["name"] in names}
