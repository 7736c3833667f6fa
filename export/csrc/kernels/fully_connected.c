/* FULLY_CONNECTED: float32, and the int8 dense step of the im2col CONV_2D (int8 FULLY_CONNECTED: fast/fc.c). */

/*
 * Fully connected layer over 4-row packed weights (see fast/fc.c), exact requantization: the dense
 * step of the im2col convolution. in_u8 says whether the input holds int8 or uint8 values.
 */
ALWAYS_INLINE void fc_rows(const void *in, int in_u8, int8_t *out, const uint32_t *weights, const int32_t *bias,
                           const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                           int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    ep_fc_s8((const int8_t *)in, in_u8, out, weights, bias, multiplier, shift, cols, rows, out_zero_point, act_min,
             act_max, 0);
}

/* Fully connected layer, float: out[r] = act(sum_k in[k] * W[r][k] + bias[r]), W row-major.
   Four rows share each input load; every row still sums in column order. */
static void fc_f32(const float *in, float *out, const float *weights, const float *bias, int cols, int rows,
                   float act_min, float act_max)
{
    /* Both bounds known up front, so gcc drops an empty tail loop instead of warning about it
       (-Waggressive-loop-optimizations on 32-bit targets when rows % 4 == 0) */
    const int rows4 = rows - rows % 4;
    int r, k;
    for (r = 0; r < rows4; r += 4) {
        const float *w0 = weights + (size_t)r * (size_t)cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (k = 0; k < cols; k++) {
            const float x = in[k];
            a0 += x * w0[k];
            a1 += x * w1[k];
            a2 += x * w2[k];
            a3 += x * w3[k];
        }
        out[r] = clampf(a0 + bias[r], act_min, act_max);
        out[r + 1] = clampf(a1 + bias[r + 1], act_min, act_max);
        out[r + 2] = clampf(a2 + bias[r + 2], act_min, act_max);
        out[r + 3] = clampf(a3 + bias[r + 3], act_min, act_max);
    }
    for (r = rows4; r < rows; r++) {
        const float *w = weights + (size_t)r * (size_t)cols;
        float acc = 0.0f;
        for (k = 0; k < cols; k++) {
            acc += in[k] * w[k];
        }
        out[r] = clampf(acc + bias[r], act_min, act_max);
    }
}
