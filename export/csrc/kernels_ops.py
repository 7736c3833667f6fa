"""C source of the int8 op kernels (fully connected, conv, pools, softmax, logistic, quantize)."""
from __future__ import annotations

CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "float32": "float"}
SUFFIX = {"int8": "s8", "uint8": "u8", "float32": "f32"}

DSP_PRELUDE = """\
/* Cortex-M4/M7 SIMD path: little-endian ARM with the DSP extension, unless EDGEPORT_PORTABLE */
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN) && !defined(EDGEPORT_PORTABLE)
#define USE_DSP 1
#include <arm_acle.h>
#else
#define USE_DSP 0
#endif
"""

DSP_HELPERS = {
    "load_x4": """\
/* Four activation bytes as one word, at any alignment */
static inline uint32_t load_x4(const void *p)
{
    uint32_t v;
#if defined(__GNUC__)
    __builtin_memcpy(&v, p, 4);
#else
    const uint8_t *b = (const uint8_t *)p;
    v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
#endif
    return v;
}
""",
    "s8": """\
/* Bytes 1 and 3 of a word, sign-extended to two halfwords (one SXTB16 with rotation) */
static inline int32_t sxtb16_ror8(uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return (int32_t)r;
#else
    return __sxtb16(__ror(v, 8));
#endif
}
""",
    "u8": """\
/* Bytes 1 and 3 of a word, zero-extended to two halfwords (one UXTB16 with rotation) */
static inline int32_t uxtb16_ror8(uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return (int32_t)r;
#else
    return __uxtb16(__ror(v, 8));
#endif
}
""",
}

BYTE_S8 = """\
/* Byte t of a packed weight word, as a signed value */
static inline int32_t byte_s8(uint32_t w, int t)
{
    return (int32_t)(((w >> (8 * t)) & 0xffu) ^ 0x80u) - 0x80;
}
"""


def fc_kernel(in_type: str) -> str:
    """Fully connected, 4 output rows per pass over the input; weights packed by the generator."""
    t, s = CTYPE[in_type], SUFFIX[in_type]
    ext = "__sxtb16" if in_type == "int8" else "__uxtb16"
    ext_ror = "sxtb16_ror8" if in_type == "int8" else "uxtb16_ror8"
    mac = "\n".join(
        f"            w = wp[{j}];\n"
        f"            a{j} = __smlad(__sxtb16(w), x02, a{j});\n"
        f"            a{j} = __smlad(sxtb16_ror8(w), x13, a{j});"
        for j in range(4)
    )
    return f"""\
/*
 * Fully connected layer, {in_type} input: out[r] = requant(bias[r] + sum_k in[k] * W[r][k]).
 * The input zero point is already folded into bias. W is packed in groups of 4 rows: for each
 * group, for each block of 4 columns, one little-endian word per row (zero-padded at the ends).
 */
static void fc_{s}(const {t} *in, int8_t *out, const uint32_t *weights, const int32_t *bias,
                  const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                  int32_t out_zero_point, int32_t act_min, int32_t act_max)
{{
    const int blocks = cols / 4, tail = cols % 4, words = (cols + 3) / 4;
    int r, b, t, j;
    for (r = 0; r < rows; r += 4) {{
        const uint32_t *wp = weights + (size_t)r * (size_t)words;
        const {t} *xp = in;
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        int32_t acc[4];
#if USE_DSP
        for (b = 0; b < blocks; b++) {{
            const uint32_t xw = load_x4(xp);
            const int32_t x02 = (int32_t){ext}(xw), x13 = {ext_ror}(xw);
            uint32_t w;
{mac}
            wp += 4;
            xp += 4;
        }}
#else
        for (b = 0; b < blocks; b++, wp += 4, xp += 4) {{
            const int32_t x0 = xp[0], x1 = xp[1], x2 = xp[2], x3 = xp[3];
            a0 += x0 * byte_s8(wp[0], 0) + x1 * byte_s8(wp[0], 1) + x2 * byte_s8(wp[0], 2) + x3 * byte_s8(wp[0], 3);
            a1 += x0 * byte_s8(wp[1], 0) + x1 * byte_s8(wp[1], 1) + x2 * byte_s8(wp[1], 2) + x3 * byte_s8(wp[1], 3);
            a2 += x0 * byte_s8(wp[2], 0) + x1 * byte_s8(wp[2], 1) + x2 * byte_s8(wp[2], 2) + x3 * byte_s8(wp[2], 3);
            a3 += x0 * byte_s8(wp[3], 0) + x1 * byte_s8(wp[3], 1) + x2 * byte_s8(wp[3], 2) + x3 * byte_s8(wp[3], 3);
        }}
#endif
        for (t = 0; t < tail; t++) {{
            const int32_t x = xp[t];
            a0 += x * byte_s8(wp[0], t);
            a1 += x * byte_s8(wp[1], t);
            a2 += x * byte_s8(wp[2], t);
            a3 += x * byte_s8(wp[3], t);
        }}
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        for (j = 0; j < 4 && r + j < rows; j++) {{
            out[r + j] = requant(acc[j], multiplier[r + j], shift[r + j], out_zero_point, act_min, act_max);
        }}
    }}
}}
"""


CONV_PARAMS = """\
/* Shapes and quantization of one convolution or pooling op (NHWC, batch 1) */
struct conv_params {
    int in_h, in_w, in_c, out_h, out_w, out_c;
    int k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, depth_multiplier;
    int32_t in_offset, out_zero_point, act_min, act_max;
};
"""


def conv_kernel(in_type: str) -> str:
    """CONV_2D as im2col + fc: the input zero point is folded into the bias like a dense layer's."""
    t, s = CTYPE[in_type], SUFFIX[in_type]
    return f"""\
/*
 * 2-D convolution, {in_type} input, as im2col + the fully connected kernel: for each output pixel
 * the receptive field is copied into patch (k_h * k_w * in_c values). Padding taps get the input
 * zero point, whose product cancels the zero-point term folded into bias.
 */
static void conv_{s}(const {t} *in, int8_t *out, {t} *patch, const uint32_t *weights, const int32_t *bias,
                    const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{{
    const struct conv_params p = *params; /* local copy: int8 stores could alias *params */
    const int cols = p.k_h * p.k_w * p.in_c;
    const {t} zero_point = ({t})(-p.in_offset);
    int oy, ox, ky, kx, ic;
    for (oy = 0; oy < p.out_h; oy++) {{
        for (ox = 0; ox < p.out_w; ox++) {{
            {t} *dst = patch;
            for (ky = 0; ky < p.k_h; ky++) {{
                const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                for (kx = 0; kx < p.k_w; kx++) {{
                    const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                    if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {{
                        for (ic = 0; ic < p.in_c; ic++) {{
                            *dst++ = zero_point;
                        }}
                    }} else {{
                        const {t} *x = in + ((size_t)iy * p.in_w + ix) * p.in_c;
                        for (ic = 0; ic < p.in_c; ic++) {{
                            *dst++ = x[ic];
                        }}
                    }}
                }}
            }}
            fc_{s}(patch, out + ((size_t)oy * p.out_w + ox) * p.out_c, weights, bias, multiplier, shift, cols,
                  p.out_c, p.out_zero_point, p.act_min, p.act_max);
        }}
    }}
}}
"""


def dwconv_kernel(in_type: str) -> str:
    t, s = CTYPE[in_type], SUFFIX[in_type]
    return f"""\
/* Depthwise convolution, {in_type} input, weights [k_h][k_w][out_c], out_c = in_c * depth_multiplier */
static void dwconv_{s}(const {t} *in, int8_t *out, const int8_t *weights, const int32_t *bias,
                      const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{{
    const struct conv_params p = *params; /* local copy: int8 stores could alias *params */
    int oy, ox, ic, m, ky, kx;
    for (oy = 0; oy < p.out_h; oy++) {{
        const int iy0 = oy * p.stride_h - p.pad_h;
        /* filter rows [ky_lo, ky_end) land inside the input */
        const int ky_lo = iy0 < 0 ? (-iy0 + p.dilation_h - 1) / p.dilation_h : 0;
        const int ky_all = (p.in_h - iy0 + p.dilation_h - 1) / p.dilation_h;
        const int ky_end = ky_all < p.k_h ? ky_all : p.k_h;
        for (ox = 0; ox < p.out_w; ox++) {{
            const int ix0 = ox * p.stride_w - p.pad_w;
            const int kx_lo = ix0 < 0 ? (-ix0 + p.dilation_w - 1) / p.dilation_w : 0;
            const int kx_all = (p.in_w - ix0 + p.dilation_w - 1) / p.dilation_w;
            const int kx_end = kx_all < p.k_w ? kx_all : p.k_w;
            int8_t *y = out + ((size_t)oy * p.out_w + ox) * p.out_c;
            for (ic = 0; ic < p.in_c; ic++) {{
                for (m = 0; m < p.depth_multiplier; m++) {{
                    const int oc = ic * p.depth_multiplier + m;
                    int32_t acc = bias[oc];
                    for (ky = ky_lo; ky < ky_end; ky++) {{
                        const {t} *x = in + (size_t)(iy0 + ky * p.dilation_h) * p.in_w * p.in_c + ic;
                        const int8_t *w = weights + (size_t)ky * p.k_w * p.out_c + oc;
                        for (kx = kx_lo; kx < kx_end; kx++) {{
                            acc += ((int32_t)x[(size_t)(ix0 + kx * p.dilation_w) * p.in_c] + p.in_offset) *
                                   w[(size_t)kx * p.out_c];
                        }}
                    }}
                    y[oc] = requant(acc, multiplier[oc], shift[oc], p.out_zero_point, p.act_min, p.act_max);
                }}
            }}
        }}
    }}
}}
"""


def pool_kernel(kind: str, dtype: str) -> str:
    """MAX_POOL_2D / AVERAGE_POOL_2D over int8 or float32, as TFLite Micro's reference kernels."""
    t, s = CTYPE[dtype], SUFFIX[dtype]
    acc_t = "float" if dtype == "float32" else "int32_t"
    if kind == "max":
        init, step = ("-3.402823466e+38f" if dtype == "float32" else "-128"), "acc = x > acc ? x : acc;"
        finish = "acc"
    else:
        init, step = "0", "acc += x;"
        finish = ("acc / (float)count" if dtype == "float32" else
                  "acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count")
    lo, hi = ("p.act_min_f", "p.act_max_f") if dtype == "float32" else ("p.act_min", "p.act_max")
    return f"""\
/* {"Max" if kind == "max" else "Average"} pooling over the in-bounds part of each window, {dtype} */
static void {kind}pool_{s}(const {t} *in, {t} *out, const struct {"fconv" if dtype == "float32" else "conv"}_params *params)
{{
    const struct {"fconv" if dtype == "float32" else "conv"}_params p = *params; /* local copy of the shapes */
    int oy, ox, c, ky, kx;
    for (oy = 0; oy < p.out_h; oy++) {{
        for (ox = 0; ox < p.out_w; ox++) {{
            for (c = 0; c < p.in_c; c++) {{
                {acc_t} acc = {init}, v;
                int count = 0;
                for (ky = 0; ky < p.k_h; ky++) {{
                    const int iy = oy * p.stride_h - p.pad_h + ky;
                    for (kx = 0; kx < p.k_w; kx++) {{
                        const int ix = ox * p.stride_w - p.pad_w + kx;
                        {acc_t} x;
                        if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {{
                            continue;
                        }}
                        x = in[((size_t)iy * p.in_w + ix) * p.in_c + c];
                        {step}
                        count++;
                    }}
                }}
                v = count > 0 ? {finish} : 0;
                v = v < {lo} ? {lo} : v;
                v = v > {hi} ? {hi} : v;
                out[((size_t)oy * p.out_w + ox) * p.in_c + c] = ({t})v;
            }}
        }}
    }}
}}
"""
