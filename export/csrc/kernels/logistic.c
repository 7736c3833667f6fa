/* LOGISTIC: int8 as TFLite Micro's fixed-point kernel, and float32. */

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
