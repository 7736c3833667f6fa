/* TANH: int8 as TFLite Micro's fixed-point kernel (gemmlowp tanh), and float32. */

/* int8 tanh as TFLite Micro: Q4.27 input, gemmlowp tanh, output scale 1/128 and zero point 0 */
static void tanh_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t radius,
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
            /* -tanh(-|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)); -|a| read with 5 integer bits is -2|a| */
            const int32_t t = one_minus_x_over_one_plus_x(exp_on_negative(a < 0 ? a : -a, 5));
            const int32_t v = rdbpot(a == 0 ? 0 : (a < 0 ? -t : t), 24);
            out[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
        }
    }
}

/* float tanh */
static void tanh_f32(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = tanhf(in[i]);
    }
}
