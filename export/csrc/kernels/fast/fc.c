/*
 * FULLY_CONNECTED, int8 weights, int8 or uint8 input (batch 1), 4 output rows per pass over the
 * input. Weights come packed in groups of 4 rows: for each block of 4 columns, one little-endian
 * word per row, zero-padded at the ends. The input offset is folded into the bias; bias, multiplier
 * and shift (TFLite's convention) have one entry per row, padded to a multiple of 4 rows. On
 * Helium (Cortex-M55) the same tables go to fc_rows_mve (kernels/mve/).
 */

/* Input word of columns [k, k + 4), columns from n on read as 0 */
EP_INLINE uint32_t ep_fc_x4(const int8_t *in, int k, int n)
{
    uint32_t v = 0;
    int b;
    for (b = 0; b < 4 && k + b < n; b++) {
        v |= (uint32_t)(uint8_t)in[k + b] << (8 * b);
    }
    return v;
}

/* Row r's accumulator to int8. fast: the DSP form of ep_requantize, its rounding constant made here */
EP_INLINE int8_t ep_fc_out(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point, int32_t act_min,
                           int32_t act_max, int fast)
{
    struct ep_requant q;
    q.multiplier = multiplier;
    q.shift = fast ? -shift : shift;
    q.round = fast ? (int32_t)((1u << (q.shift - 1)) + ((uint32_t)zero_point << q.shift)) : 0;
    return (int8_t)ep_clamp(ep_requantize(acc, &q, zero_point, fast), act_min, act_max);
}

/* Requantize and store up to 4 rows */
EP_INLINE void ep_fc_store(int8_t *out, int n, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                           const int32_t *multiplier, const int8_t *shift, int32_t zero_point, int32_t act_min,
                           int32_t act_max, int fast)
{
    out[0] = ep_fc_out(a0, multiplier[0], shift[0], zero_point, act_min, act_max, fast);
    if (n > 1) {
        out[1] = ep_fc_out(a1, multiplier[1], shift[1], zero_point, act_min, act_max, fast);
    }
    if (n > 2) {
        out[2] = ep_fc_out(a2, multiplier[2], shift[2], zero_point, act_min, act_max, fast);
    }
    if (n > 3) {
        out[3] = ep_fc_out(a3, multiplier[3], shift[3], zero_point, act_min, act_max, fast);
    }
}

/* Input value i, signed or unsigned */
EP_INLINE int32_t ep_fc_in(const int8_t *in, int i, int in_u8)
{
    return in_u8 ? (int32_t)(uint8_t)in[i] : (int32_t)in[i];
}

/* The four sums of one block of n (1-4) columns starting at x: w holds the 4 rows' weight words */
EP_INLINE void ep_fc_block(const int8_t *x, int n, const uint32_t *w, int in_u8, int32_t *a0, int32_t *a1,
                           int32_t *a2, int32_t *a3)
{
#if USE_DSP
    const uint32_t v = n == 4 ? ep_load_any(x) : ep_fc_x4(x, 0, n);
    const uint32_t x02 = in_u8 ? (uint32_t)__uxtb16(v) : (uint32_t)__sxtb16(v);
    const uint32_t x13 = in_u8 ? ep_uxtb16_ror8(v) : ep_sxtb16_ror8(v);
    const uint32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    *a0 = __smlad(ep_sxtb16_ror8(w0), x13, __smlad(__sxtb16(w0), x02, *a0));
    *a1 = __smlad(ep_sxtb16_ror8(w1), x13, __smlad(__sxtb16(w1), x02, *a1));
    *a2 = __smlad(ep_sxtb16_ror8(w2), x13, __smlad(__sxtb16(w2), x02, *a2));
    *a3 = __smlad(ep_sxtb16_ror8(w3), x13, __smlad(__sxtb16(w3), x02, *a3));
#else
    /* columns from n on have zero weights: any value will do, so read 0 */
    const int32_t x0 = ep_fc_in(x, 0, in_u8), x1 = n > 1 ? ep_fc_in(x, 1, in_u8) : 0;
    const int32_t x2 = n > 2 ? ep_fc_in(x, 2, in_u8) : 0, x3 = n > 3 ? ep_fc_in(x, 3, in_u8) : 0;
    *a0 += x0 * ep_byte(w[0], 0) + x1 * ep_byte(w[0], 1) + x2 * ep_byte(w[0], 2) + x3 * ep_byte(w[0], 3);
    *a1 += x0 * ep_byte(w[1], 0) + x1 * ep_byte(w[1], 1) + x2 * ep_byte(w[1], 2) + x3 * ep_byte(w[1], 3);
    *a2 += x0 * ep_byte(w[2], 0) + x1 * ep_byte(w[2], 1) + x2 * ep_byte(w[2], 2) + x3 * ep_byte(w[2], 3);
    *a3 += x0 * ep_byte(w[3], 0) + x1 * ep_byte(w[3], 1) + x2 * ep_byte(w[3], 2) + x3 * ep_byte(w[3], 3);
#endif
}

EP_INLINE void ep_fc_s8(const int8_t *in, int in_u8, int8_t *out, const uint32_t *weights, const int32_t *bias,
                        const int32_t *multiplier, const int8_t *shift, int cols, int rows, int32_t zero_point,
                        int32_t act_min, int32_t act_max, int fast)
{
    const int blocks = cols / 4;
    const uint32_t *wp = weights;
    int r, b;
#if USE_MVE
    (void)blocks;
    (void)wp;
    (void)r;
    (void)b;
    (void)fast;
    fc_rows_mve(in, in_u8, out, weights, bias, multiplier, shift, cols, rows, zero_point, act_min, act_max);
#else
    for (r = 0; r < rows; r += 4) {
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        const int8_t *xp = in;
        for (b = 0; b < blocks; b++, xp += 4, wp += 4) {
            ep_fc_block(xp, 4, wp, in_u8, &a0, &a1, &a2, &a3);
        }
        if (cols % 4 != 0) { /* the last, partial block of columns */
            ep_fc_block(xp, cols % 4, wp, in_u8, &a0, &a1, &a2, &a3);
            wp += 4;
        }
        ep_fc_store(out + r, rows - r, a0, a1, a2, a3, multiplier + r, shift + r, zero_point, act_min, act_max,
                    fast);
    }
#endif
}
