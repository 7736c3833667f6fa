"""Registry of C helper functions, and the dependency order in which they are emitted."""
from __future__ import annotations

from . import kernels_f as kf
from . import kernels_ops as ko
from . import kernels_q as kq


def _registry() -> dict[str, tuple[str, tuple[str, ...], bool]]:
    """key -> (C text, dependencies, inside '#if USE_DSP')."""
    reg: dict[str, tuple[str, tuple[str, ...], bool]] = {}
    for key, (text, deps) in kq.FIXED_POINT.items():
        reg[key] = (text, deps, False)
    reg["softmax"] = (kq.ACTIVATIONS["softmax"][0], kq.ACTIVATIONS["softmax"][1], False)
    reg["logistic"] = (kq.ACTIVATIONS["logistic"][0], kq.ACTIVATIONS["logistic"][1], False)
    for key, text in ko.DSP_HELPERS.items():
        reg[f"dsp_{key}"] = (text, (), True)
    reg["byte_s8"] = (ko.BYTE_S8, (), False)
    reg["fc_s8"] = (ko.fc_kernel("int8"), ("requant", "byte_s8", "dsp_load_x4", "dsp_s8"), False)
    reg["fc_u8"] = (ko.fc_kernel("uint8"), ("requant", "byte_s8", "dsp_load_x4", "dsp_s8", "dsp_u8"), False)
    reg["conv_params"] = (ko.CONV_PARAMS, (), False)
    for t in ("int8", "uint8"):
        s = ko.SUFFIX[t]
        reg[f"conv_{s}"] = (ko.conv_kernel(t), (f"fc_{s}", "conv_params"), False)
        reg[f"dwconv_{s}"] = (ko.dwconv_kernel(t), ("requant", "conv_params"), False)
    for kind in ("max", "avg"):
        reg[f"{kind}pool_s8"] = (ko.pool_kernel(kind, "int8"), ("conv_params",), False)
        reg[f"{kind}pool_f32"] = (ko.pool_kernel(kind, "float32"), ("fconv_params",), False)
    for a in ("s8", "u8"):
        for b in ("s8", "u8"):
            text, deps = kq.requantize_kernel("int8" if a == "s8" else "uint8", "int8" if b == "s8" else "uint8")
            reg[f"requantize_{a}_{b}"] = (text, deps, False)
    reg["fconv_params"] = (kf.FCONV_PARAMS, (), False)
    reg["clampf"] = (kf.CLAMP_F, (), False)
    reg["fc_f32"] = (kf.FC_F32, ("clampf",), False)
    reg["conv_f32"] = (kf.CONV_F32, ("clampf", "fconv_params"), False)
    reg["dwconv_f32"] = (kf.DWCONV_F32, ("clampf", "fconv_params"), False)
    reg["softmax_f32"] = (kf.SOFTMAX_F32, (), False)
    reg["logistic_f32"] = (kf.LOGISTIC_F32, (), False)
    return reg


def collect(keys: list[str]) -> tuple[list[str], list[str]]:
    """(portable helper texts, DSP-only helper texts) in dependency order."""
    reg = _registry()
    order: list[str] = []

    def visit(key: str) -> None:
        if key in order:
            return
        for dep in reg[key][1]:
            visit(dep)
        order.append(key)

    for key in keys:
        visit(key)
    dsp = [reg[k][0] for k in order if reg[k][2]]
    plain = [reg[k][0] for k in order if not reg[k][2]]
    return plain, dsp
