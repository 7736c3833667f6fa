/* QUANTIZE between int8 and uint8 (TFLite Requantize). */

/* Rescale n values around the zero points and saturate; in_u8 / out_u8 say which sides are uint8 */
ALWAYS_INLINE void requantize(const void *in, int in_u8, void *out, int out_u8, int n, int32_t in_zero_point,
                              int32_t out_zero_point, int32_t multiplier, int shift)
{
    const int32_t lo = out_u8 ? 0 : -128, hi = out_u8 ? 255 : 127;
    int i;
    for (i = 0; i < n; i++) {
        const int32_t x = in_u8 ? (int32_t)((const uint8_t *)in)[i] : (int32_t)((const int8_t *)in)[i];
        int32_t v = mbqm(x - in_zero_point, multiplier, shift) + out_zero_point;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        if (out_u8) {
            ((uint8_t *)out)[i] = (uint8_t)v;
        } else {
            ((int8_t *)out)[i] = (int8_t)v;
        }
    }
}

/* QUANTIZE int8 -> int8 (requantize) */
static void requantize_s8_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                             int32_t multiplier, int shift)
{
    requantize(in, 0, out, 0, n, in_zero_point, out_zero_point, multiplier, shift);
}

/* QUANTIZE int8 -> uint8 (requantize) */
static void requantize_s8_u8(const int8_t *in, uint8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                             int32_t multiplier, int shift)
{
    requantize(in, 0, out, 1, n, in_zero_point, out_zero_point, multiplier, shift);
}

/* QUANTIZE uint8 -> int8 (requantize) */
static void requantize_u8_s8(const uint8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                             int32_t multiplier, int shift)
{
    requantize(in, 1, out, 0, n, in_zero_point, out_zero_point, multiplier, shift);
}

/* QUANTIZE uint8 -> uint8 (requantize) */
static void requantize_u8_u8(const uint8_t *in, uint8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                             int32_t multiplier, int shift)
{
    requantize(in, 1, out, 1, n, in_zero_point, out_zero_point, multiplier, shift);
}

/* QUANTIZE float -> int8 as TFLite Micro: round(x / scale) half away from zero, plus the zero point
   (out-of-range values saturate; NaN, undefined in TFLite Micro, gives the zero point) */
static void quantize_f32_s8(const float *in, int8_t *out, int n, float scale, int32_t zero_point)
{
    int i;
    for (i = 0; i < n; i++) {
        const float q = roundf(in[i] / scale);
        int32_t v = q >= 256.0f ? 127 : (q <= -256.0f ? -128 : (q == q ? (int32_t)q + zero_point : zero_point));
        v = v < -128 ? -128 : v;
        v = v > 127 ? 127 : v;
        out[i] = (int8_t)v;
    }
}
