/* SOFTMAX over the last dimension: int8 as TFLite Micro's fixed-point kernel, and float32. */

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

/* Softmax over the last dimension, float */
static void softmax_f32(const float *in, float *out, int rows, int depth, float beta)
{
    int i, c;
    for (i = 0; i < rows; i++, in += depth, out += depth) {
        float max = in[0], sum = 0.0f;
        for (c = 1; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < depth; c++) {
            out[c] = expf((in[c] - max) * beta);
            sum += out[c];
        }
        for (c = 0; c < depth; c++) {
            out[c] = out[c] / sum;
        }
    }
}
