/* FULLY_CONNECTED: int8 (Helium in mve/, DSP and portable paths) and float32. */

/* Byte t of a packed weight word, as a signed value */
static inline MAYBE_UNUSED int32_t byte_s8(uint32_t w, int t)
{
    return (int32_t)(((w >> (8 * t)) & 0xffu) ^ 0x80u) - 0x80;
}

/* Element i of an activation vector of int8 (in_u8 = 0) or uint8 (in_u8 = 1) values */
static inline MAYBE_UNUSED int32_t load_in(const void *p, size_t i, int in_u8)
{
    return in_u8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

/*
 * Fully connected layer: out[r] = requant(bias[r] + sum_k in[k] * W[r][k]), 4 rows per pass over
 * the input. The input zero point is already folded into bias. W is packed in groups of 4 rows:
 * for each group, for each block of 4 columns, one little-endian word per row (zero-padded at
 * the ends). in_u8 says whether the input holds int8 or uint8 values.
 */
ALWAYS_INLINE void fc_rows(const void *in, int in_u8, int8_t *out, const uint32_t *weights, const int32_t *bias,
                           const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                           int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    const int blocks = cols / 4, tail = cols % 4, words = (cols + 3) / 4;
    int r, b, t, j;
#if USE_MVE
    fc_rows_mve(in, in_u8, out, weights, bias, multiplier, shift, cols, rows, out_zero_point, act_min, act_max);
    return;
#endif
    for (r = 0; r < rows; r += 4) {
        const uint32_t *wp = weights + (size_t)r * (size_t)words;
        const uint8_t *xp = (const uint8_t *)in;
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
#if USE_DSP
        for (b = 0; b < blocks; b++) {
            const uint32_t xw = load_x4(xp);
            const int32_t x02 = in_u8 ? (int32_t)__uxtb16(xw) : (int32_t)__sxtb16(xw);
            const int32_t x13 = in_u8 ? uxtb16_ror8(xw) : sxtb16_ror8(xw);
            uint32_t w;
            w = wp[0];
            a0 = __smlad(__sxtb16(w), x02, a0);
            a0 = __smlad(sxtb16_ror8(w), x13, a0);
            w = wp[1];
            a1 = __smlad(__sxtb16(w), x02, a1);
            a1 = __smlad(sxtb16_ror8(w), x13, a1);
            w = wp[2];
            a2 = __smlad(__sxtb16(w), x02, a2);
            a2 = __smlad(sxtb16_ror8(w), x13, a2);
            w = wp[3];
            a3 = __smlad(__sxtb16(w), x02, a3);
            a3 = __smlad(sxtb16_ror8(w), x13, a3);
            wp += 4;
            xp += 4;
        }
#else
        for (b = 0; b < blocks; b++, wp += 4, xp += 4) {
            const int32_t x0 = load_in(xp, 0, in_u8), x1 = load_in(xp, 1, in_u8);
            const int32_t x2 = load_in(xp, 2, in_u8), x3 = load_in(xp, 3, in_u8);
            a0 += x0 * byte_s8(wp[0], 0) + x1 * byte_s8(wp[0], 1) + x2 * byte_s8(wp[0], 2) + x3 * byte_s8(wp[0], 3);
            a1 += x0 * byte_s8(wp[1], 0) + x1 * byte_s8(wp[1], 1) + x2 * byte_s8(wp[1], 2) + x3 * byte_s8(wp[1], 3);
            a2 += x0 * byte_s8(wp[2], 0) + x1 * byte_s8(wp[2], 1) + x2 * byte_s8(wp[2], 2) + x3 * byte_s8(wp[2], 3);
            a3 += x0 * byte_s8(wp[3], 0) + x1 * byte_s8(wp[3], 1) + x2 * byte_s8(wp[3], 2) + x3 * byte_s8(wp[3], 3);
        }
#endif
        for (t = 0; t < tail; t++) {
            const int32_t x = load_in(xp, (size_t)t, in_u8);
            a0 += x * byte_s8(wp[0], t);
            a1 += x * byte_s8(wp[1], t);
            a2 += x * byte_s8(wp[2], t);
            a3 += x * byte_s8(wp[3], t);
        }
        out[r] = requant(a0, multiplier[r], shift[r], out_zero_point, act_min, act_max);
        if (r + 3 < rows) {
            out[r + 1] = requant(a1, multiplier[r + 1], shift[r + 1], out_zero_point, act_min, act_max);
            out[r + 2] = requant(a2, multiplier[r + 2], shift[r + 2], out_zero_point, act_min, act_max);
            out[r + 3] = requant(a3, multiplier[r + 3], shift[r + 3], out_zero_point, act_min, act_max);
        } else { /* the last, partial group of rows */
            int32_t rest[3];
            rest[0] = a1;
            rest[1] = a2;
            rest[2] = a3;
            for (j = 1; r + j < rows; j++) {
                out[r + j] = requant(rest[j - 1], multiplier[r + j], shift[r + j], out_zero_point,
                                     act_min, act_max);
            }
        }
    }
}

/* Fully connected layer, int8 input (fc_rows) */
static void fc_s8(const int8_t *in, int8_t *out, const uint32_t *weights, const int32_t *bias,
                  const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                  int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    fc_rows(in, 0, out, weights, bias, multiplier, shift, cols, rows, out_zero_point, act_min, act_max);
}

/* Fully connected layer, uint8 input (fc_rows) */
static void fc_u8(const uint8_t *in, int8_t *out, const uint32_t *weights, const int32_t *bias,
                  const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                  int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    fc_rows(in, 1, out, weights, bias, multiplier, shift, cols, rows, out_zero_point, act_min, act_max);
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
