/* HARD_SWISH: x * relu6(x + 3) / 6, int8 as TFLite Micro's reference kernel (16-bit fixed point). */

/* gemmlowp SaturatingRoundingDoublingHighMul on 16 bits */
static inline int16_t srdhm16(int16_t a, int16_t b)
{
    const int32_t ab = (int32_t)a * (int32_t)b;
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)((ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15));
}

/* TFLite's SaturatingDoublingHighMul on 16 bits: (a * b * 2) / 2^16, truncated, saturated */
static inline int16_t sdhm16(int16_t a, int16_t b)
{
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* Saturating 16-bit left shift */
static inline int16_t sat_shl16(int16_t v, int amount)
{
    const int32_t r = (int32_t)v * (1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

/*
 * int8 hard swish as TFLite Micro: the input on a 2^7 finer scale; a "reluish" factor in [0, 1]
 * in Q0.15 from (x + 3) / 6; their product rescaled to the output. Multipliers are Q0.15.
 */
static void hard_swish_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                          int16_t out_multiplier, int out_exponent, int16_t relu_multiplier, int relu_exponent)
{
    int i;
    for (i = 0; i < n; i++) {
        const int16_t hires = (int16_t)(((int32_t)in[i] - in_zero_point) * (1 << 7));
        const int16_t preshift = srdhm16(hires, out_multiplier);
        int16_t reluish = hires;
        int32_t v;
        if (relu_exponent > 0) {
            reluish = sat_shl16(reluish, relu_exponent - 1);
        }
        reluish = srdhm16(reluish, relu_multiplier);
        if (relu_exponent > 0) {
            reluish = sat_shl16(reluish, 1);
        }
        if (relu_exponent < 0) {
            reluish = (int16_t)rdbpot(reluish, -relu_exponent);
        }
        reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
        v = rdbpot(sdhm16(reluish, preshift), -out_exponent) + out_zero_point;
        out[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
}

/* float hard swish */
static void hard_swish_f32(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const float x = in[i];
        out[i] = x * clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    }
}
