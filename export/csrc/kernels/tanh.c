/* TANH: int8 as TFLite Micro's fixed-point kernel (gemmlowp tanh, the loop of logistic.c), and float32. */

/* gemmlowp tanh of a Q4.27 value, to int8 at scale 1/128 and zero point 0 */
static int8_t tanh_q4(int32_t a)
{
    /* -tanh(-|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)); -|a| read with 5 integer bits is -2|a| */
    const int32_t t = one_minus_x_over_one_plus_x(exp_on_negative(a < 0 ? a : -a, 5));
    const int32_t v = rdbpot(a == 0 ? 0 : (a < 0 ? -t : t), 24);
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
}

/* int8 tanh as TFLite Micro: Q4.27 input, gemmlowp tanh, output scale 1/128 and zero point 0 */
static void tanh_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t radius,
                    int32_t multiplier, int shift)
{
    q4_map_s8(in, out, n, in_zero_point, radius, multiplier, shift, tanh_q4);
}

/* float tanh */
static void tanh_f32(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = tanhf(in[i]);
    }
}
