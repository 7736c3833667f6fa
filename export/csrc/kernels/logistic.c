/* LOGISTIC: int8 as TFLite Micro's fixed-point kernel, and float32; q4_map_s8 also serves TANH. */

/*
 * The loop TFLite Micro's int8 LOGISTIC and TANH share: x - in_zero_point saturates to -128 / 127
 * at -radius / +radius; inside, it is read as Q4.27 (multiplier, shift) and core maps it to int8
 */
ALWAYS_INLINE void q4_map_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t radius,
                             int32_t multiplier, int shift, int8_t (*core)(int32_t))
{
    int i;
    for (i = 0; i < n; i++) {
        const int32_t x = in[i] - in_zero_point;
        if (x <= -radius) {
            out[i] = -128;
        } else if (x >= radius) {
            out[i] = 127;
        } else {
            out[i] = core(mbqm(x, multiplier, shift));
        }
    }
}

/* gemmlowp logistic of a Q4.27 value, to int8 at scale 1/256 and zero point -128 */
static int8_t logistic_q4(int32_t a)
{
    const int32_t positive = one_over_one_plus_x(exp_on_negative(a > 0 ? -a : a, 4));
    const int32_t y = a == 0 ? (1 << 30) : (a > 0 ? positive : INT32_MAX - positive);
    const int32_t v = rdbpot(y, 23) - 128;
    return (int8_t)(v > 127 ? 127 : v);
}

/* int8 logistic as TFLite Micro: Q4.27 input, gemmlowp logistic, output zero point -128 */
static void logistic_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t radius,
                        int32_t multiplier, int shift)
{
    q4_map_s8(in, out, n, in_zero_point, radius, multiplier, shift, logistic_q4);
}

/* Logistic, float, with TFLite's cut-offs */
static void logistic_f32(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const float x = in[i];
        if (x > 16.619047164916992f) {
            out[i] = 1.0f;
        } else if (x < -9.0f) {
            out[i] = expf(x);
        } else {
            out[i] = 1.0f / (1.0f + expf(-x));
        }
    }
}
