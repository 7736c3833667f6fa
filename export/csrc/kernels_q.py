"""C source of the int8 kernels: TFLite Micro's reference arithmetic, written out in C99.

Each entry is (C text, helpers it needs). The emitter copies only the helpers a model uses, so
the generated file has no unused static functions.
"""
from __future__ import annotations

FIXED_POINT = {
    "srdhm": ("""\
/*
 * gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2) / 2^32, rounded, saturated.
 * gemmlowp adds 2^30 (or 1 - 2^30 for negative products) and divides rounding to zero;
 * adding 2^30 and shifting right (floor) gives the same value for every product.
 */
static inline int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}
""", ()),
    "rdbpot": ("""\
/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero */
static inline int32_t rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
""", ()),
    "mbqm": ("""\
/* TFLite MultiplyByQuantizedMultiplier, double rounding (TFLITE_SINGLE_ROUNDING unset) */
static inline int32_t mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return rdbpot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}
""", ("srdhm", "rdbpot")),
    "requant": ("""\
/* Scale an int32 accumulator to int8: multiplier, output zero point, activation clamp */
static int8_t requant(int32_t acc, int32_t multiplier, int shift, int32_t zero_point, int32_t act_min, int32_t act_max)
{
    int32_t v = mbqm(acc, multiplier, shift) + zero_point;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}
""", ("mbqm",)),
    "sat_shl": ("""\
/* gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: saturating x << exponent */
static int32_t sat_shl(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}
""", ()),
    "exp_neg": ("""\
/* gemmlowp exp_on_negative_values: exp(a) for a <= 0 in Q(integer_bits), result in Q0.31 */
static int32_t exp_on_negative(int32_t a, int integer_bits)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fraction_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fraction_bits - 2);
    const int32_t a_mod = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod - a;
    /* Taylor series of exp around -1/8 for the part in [-1/4, 0) */
    const int32_t x = sat_shl(a_mod, integer_bits) + (1 << 28);
    const int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
    const int32_t poly = rdbpot(srdhm(rdbpot(x4, 2) + x3, 715827883) + x2, 1);
    const int32_t exp_minus_one_eighth = 1895147668;
    int32_t result = exp_minus_one_eighth + srdhm(exp_minus_one_eighth, x + poly);
    int k;
    for (k = -2; k <= 4; k++) {
        if (integer_bits > k && (remainder & ((int32_t)1 << (fraction_bits + k))) != 0) {
            result = srdhm(result, barrel[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}
""", ("srdhm", "rdbpot", "sat_shl")),
    "one_over": ("""\
/* gemmlowp one_over_one_plus_x_for_x_in_0_1: Newton-Raphson division, Q0.31 in and out */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t one_q2 = 1 << 29;
    int32_t x = 1515870810 + srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t error = one_q2 - srdhm(half_denominator, x);
        x = x + sat_shl(srdhm(x, error), 2);
    }
    return sat_shl(x, 1);
}
""", ("srdhm", "sat_shl")),
}

ACTIVATIONS = {
    "softmax": ("""\
/* int8 softmax as TFLite Micro: Q5.26 differences, fixed-point exp, sum in Q12.19, reciprocal */
static void softmax_s8(const int8_t *in, int8_t *out, int rows, int depth, int32_t multiplier, int left_shift,
                       int32_t diff_min)
{
    int i, c;
    for (i = 0; i < rows; i++, in += depth, out += depth) {
        int32_t max = -128, sum = 0, reciprocal, headroom = 0, v;
        uint32_t bits;
        int exponent;
        for (c = 0; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= diff_min) {
                sum += rdbpot(exp_on_negative(srdhm((int32_t)((uint32_t)diff << left_shift), multiplier), 5), 12);
            }
        }
        /* GetReciprocal: sum > 0, normalised to [1, 2) then 1 / x by Newton-Raphson */
        for (bits = (uint32_t)sum; (bits & 0x80000000u) == 0; bits <<= 1) {
            headroom++;
        }
        reciprocal = one_over_one_plus_x((int32_t)(bits - 0x80000000u));
        exponent = (12 - headroom) + 31 - 8;
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= diff_min) {
                const int32_t e = exp_on_negative(srdhm((int32_t)((uint32_t)diff << left_shift), multiplier), 5);
                v = rdbpot(srdhm(reciprocal, e), exponent) - 128;
                out[c] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
            } else {
                out[c] = -128;
            }
        }
    }
}
""", ("srdhm", "rdbpot", "exp_neg", "one_over")),
    "logistic": ("""\
/* int8 logistic as TFLite Micro: Q4.27 input, gemmlowp logistic, output zero point -128 */
static void logistic_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t radius,
                        int32_t multiplier, int shift)
{
    int i;
    for (i = 0; i < n; i++) {
        const int32_t x = in[i] - in_zero_point;
        if (x <= -radius) {
            out[i] = -128;
        } else if (x >= radius) {
            out[i] = 127;
        } else {
            const int32_t a = mbqm(x, multiplier, shift);
            const int32_t positive = one_over_one_plus_x(exp_on_negative(a > 0 ? -a : a, 4));
            const int32_t y = a == 0 ? (1 << 30) : (a > 0 ? positive : INT32_MAX - positive);
            const int32_t v = rdbpot(y, 23) - 128;
            out[i] = (int8_t)(v > 127 ? 127 : v);
        }
    }
}
""", ("mbqm", "exp_neg", "one_over")),
}


def requantize_kernel(src: str, dst: str) -> tuple[str, tuple[str, ...]]:
    """QUANTIZE between int8 and uint8 (TFLite Requantize)."""
    from .kernels_ops import CTYPE, SUFFIX

    ts, td = CTYPE[src], CTYPE[dst]
    lo, hi = (-128, 127) if dst == "int8" else (0, 255)
    return (f"""\
/* QUANTIZE {src} -> {dst}: rescale around the zero points and saturate */
static void requantize_{SUFFIX[src]}_{SUFFIX[dst]}(const {ts} *in, {td} *out, int n, int32_t in_zero_point,
                                 int32_t out_zero_point, int32_t multiplier, int shift)
{{
    int i;
    for (i = 0; i < n; i++) {{
        int32_t v = mbqm(in[i] - in_zero_point, multiplier, shift) + out_zero_point;
        v = v < {lo} ? {lo} : v;
        v = v > {hi} ? {hi} : v;
        out[i] = ({td})v;
    }}
}}
""", ("mbqm",))
