/*
 * int32 accumulator -> int8, exactly as TFLite Micro: MultiplyByQuantizedMultiplier with double
 * rounding (TFLITE_SINGLE_ROUNDING unset), plus the output zero point, clamped.
 */

/*
 * Requantization constants of one output channel (or of every channel: kernels take rq_step 0 for
 * a per-tensor scale), computed by the generator as TFLite Micro's Prepare() does. Biases are a
 * separate int32 table.
 */
struct ep_requant {
    int32_t multiplier; /* Q0.31 */
    int32_t shift;      /* > 0: left, < 0: right; the right shift itself (> 0) where the kernel is told fast */
    int32_t round;      /* fast: 2^(right shift - 1) + out_zero_point * 2^(right shift) */
};

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2) / 2^32, rounded, saturated */
EP_INLINE int32_t ep_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero */
EP_INLINE int32_t ep_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier */
EP_INLINE int32_t ep_mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return ep_rdbpot(ep_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* v clamped to [lo, hi], a sub-range of int8 */
EP_INLINE int32_t ep_clamp(int32_t v, int32_t lo, int32_t hi)
{
#if USE_DSP
    v = __ssat(v, 8);
    if (lo > -128) {
        v = v < lo ? lo : v;
    }
    if (hi < 127) {
        v = v > hi ? hi : v;
    }
#else
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
#endif
    return v;
}

/*
 * MultiplyByQuantizedMultiplier(acc) + zero_point. With fast set, the generator has proved for
 * every channel that TFLite's shift is < 0 (the table holds -shift) and that 2 * acc and x + round below fit in int32; then
 *   SRDHM(acc, M) = (2 acc M + 2^31) >> 32 = SMMULR(2 acc, M), and
 *   RDBPOT(x, r) + zp = (x + 2^(r-1) + zp 2^r - [x < 0]) >> r, where acc < 0 can stand for x < 0
 *   (they differ only when x = 0, and then both give 0).
 */
EP_INLINE int32_t ep_requantize(int32_t acc, const struct ep_requant *c, int32_t zero_point, int fast)
{
#if USE_DSP
    if (fast) {
        return ep_smmlar((int32_t)((uint32_t)acc << 1), c->multiplier, c->round + (acc >> 31)) >> c->shift;
    }
#endif
    return ep_mbqm(acc, c->multiplier, fast ? -c->shift : c->shift) + zero_point;
}

#if USE_MVE
/* ep_requantize of four accumulators of one channel, clamped (the same integers; see requant4_mve) */
EP_INLINE int32x4_t ep_requant_mve(int32x4_t acc, const struct ep_requant *q, int32_t zero_point, int32_t act_min,
                                   int32_t act_max, int fast)
{
    const int32_t shift = fast ? -q->shift : q->shift;
    int32x4_t v = vqrdmulhq_n_s32(shift > 0 ? vshlq_r_s32(acc, shift) : acc, q->multiplier);
    if (shift < 0) { /* VRSHL rounds ties up: negative values first lowered by one, ties away from zero */
        v = vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), shift);
    }
    v = vaddq_n_s32(v, zero_point);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}
#endif
