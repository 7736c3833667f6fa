/* TFLite Micro's int8 requantization (gemmlowp fixed point), exactly as its reference kernels. */

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

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero */
static inline int32_t rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier, double rounding (TFLITE_SINGLE_ROUNDING unset) */
static inline int32_t mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return rdbpot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* Scale an int32 accumulator to int8: multiplier, output zero point, activation clamp */
static inline int8_t requant(int32_t acc, int32_t multiplier, int shift, int32_t zero_point,
                             int32_t act_min, int32_t act_max)
{
    int32_t v = mbqm(acc, multiplier, shift) + zero_point;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}
