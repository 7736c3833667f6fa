/*
 * DEPTHWISE_CONV_2D 3x3, depth multiplier 1, stride 1 or 2, at most one padding row/column per side.
 *
 * One channel at a time, so its weights and constants stay in registers, and a window sliding
 * along each output row: each input column is loaded once. The generator folds the input offset
 * into the bias (bias + offset * sum of the 9 weights); a padding column then holds the zero
 * point, whose product cancels its share of the fold, and a padding row is left out with its
 * share subtracted from the bias. Two input rows go through SMLAD as (row a, row b) pairs, the
 * third through SMLABB/SMLABT.
 * Weights: [3][3][channels] int8 as TFLite stores them.
 */

/* acc + x * w for int8 x and w held in halfwords: bottom x bottom, bottom x top */
EP_INLINE int32_t ep_mla_bb(int32_t x, int32_t w, int32_t acc)
{
#if USE_DSP
    return __smlabb(x, w, acc);
#else
    return acc + (int32_t)(int16_t)(x & 0xffff) * (int32_t)(int16_t)(w & 0xffff);
#endif
}

EP_INLINE int32_t ep_mla_bt(int32_t x, int32_t w, int32_t acc)
{
#if USE_DSP
    return __smlabt(x, w, acc);
#else
    return acc + (int32_t)(int16_t)(x & 0xffff) * (w >> 16);
#endif
}

/* Halfword pair (lo, hi) of two int8 values */
EP_INLINE int32_t ep_pair(int32_t lo, int32_t hi)
{
#if USE_DSP
    return (int32_t)ep_pkhbt((uint32_t)lo, (uint32_t)hi);
#else
    return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xffffu));
#endif
}

/* acc + lo(x) * lo(w) + hi(x) * hi(w) */
EP_INLINE int32_t ep_dot2(int32_t x, int32_t w, int32_t acc)
{
#if USE_DSP
    return __smlad(x, w, acc);
#else
    return acc + (int32_t)(int16_t)(x & 0xffff) * (int32_t)(int16_t)(w & 0xffff) + (x >> 16) * (w >> 16);
#endif
}

/* Weights of one channel for one combination of input rows: pairs (a, b) per column, then row c */
struct ep_dw_weights {
    int32_t ab0, ab1, ab2; /* (w[a][k], w[b][k]) */
    int32_t c01, c2;       /* (w[c][0], w[c][1]) and (w[c][2], 0) */
};

/*
 * One output row of one channel. a, b, c point at input rows (channel already added; b may equal a
 * when only one row is inside, with its weights zero; c is NULL when two or fewer rows are
 * inside). Columns advance by `step` bytes (the channel count).
 */
EP_INLINE void ep_dw_row(const int8_t *a, const int8_t *b, const int8_t *c, int8_t *out, int step, int in_w,
                         int out_w, int stride, int pad_w, const struct ep_dw_weights *wt, int32_t bias,
                         const struct ep_channel *ch, int32_t in_zero_point, int32_t zero_point, int32_t act_min,
                         int32_t act_max, int fast)
{
    const struct ep_dw_weights w = *wt;
    const struct ep_channel q = *ch;
    const int32_t zp_pair = ep_pair(in_zero_point, in_zero_point);
    int32_t pl, pm, sl, sm; /* left and middle columns of the window: row pair, row c */
    int ox, ix = -pad_w;    /* input column of the window's left edge */
    if (ix < 0) {
        pl = zp_pair;
        sl = in_zero_point;
    } else {
        pl = ep_pair(a[ix * step], b[ix * step]);
        sl = c != NULL ? c[ix * step] : 0;
    }
    if (ix + 1 < in_w) {
        pm = ep_pair(a[(ix + 1) * step], b[(ix + 1) * step]);
        sm = c != NULL ? c[(ix + 1) * step] : 0;
    } else {
        pm = zp_pair;
        sm = in_zero_point;
    }
    for (ox = 0; ox < out_w; ox++, ix += stride) {
        int32_t pr, sr, acc;
        if (ix + 2 < in_w) {
            pr = ep_pair(a[(ix + 2) * step], b[(ix + 2) * step]);
            sr = c != NULL ? c[(ix + 2) * step] : 0;
        } else {
            pr = zp_pair;
            sr = in_zero_point;
        }
        acc = ep_dot2(pl, w.ab0, bias);
        acc = ep_dot2(pm, w.ab1, acc);
        acc = ep_dot2(pr, w.ab2, acc);
        if (c != NULL) {
            acc = ep_mla_bb(sl, w.c01, acc);
            acc = ep_mla_bt(sm, w.c01, acc);
            acc = ep_mla_bb(sr, w.c2, acc);
        }
        out[ox * step] = (int8_t)ep_clamp(ep_requant(acc, &q, zero_point, fast), act_min, act_max);
        if (stride == 1) {
            pl = pm;
            sl = sm;
            pm = pr;
            sm = sr;
        } else { /* stride 2: the right column becomes the left one, the next middle one is loaded */
            pl = pr;
            sl = sr;
            if (ox + 1 < out_w) {
                if (ix + 3 < in_w) {
                    pm = ep_pair(a[(ix + 3) * step], b[(ix + 3) * step]);
                    sm = c != NULL ? c[(ix + 3) * step] : 0;
                } else {
                    pm = zp_pair;
                    sm = in_zero_point;
                }
            }
        }
    }
}

/* Weight of row r, column k of channel ch */
EP_INLINE int32_t ep_dw_w(const int8_t *weights, int channels, int ch, int r, int k)
{
    return weights[(r * 3 + k) * channels + ch];
}

/*
 * 3x3 depthwise convolution, NHWC batch 1. ch[].bias holds bias + in_offset * (sum of the 9
 * weights); in_zero_point = -in_offset.
 */
EP_INLINE void ep_dwconv3x3_s8(const int8_t *in, int8_t *out, const int8_t *weights, const struct ep_channel *ch,
                               int in_h, int in_w, int channels, int out_h, int out_w, int stride, int pad_h,
                               int pad_w, int32_t in_offset, int32_t zero_point, int32_t act_min, int32_t act_max,
                               int fast)
{
    const int row = in_w * channels;
    int c, oy, r;
    for (c = 0; c < channels; c++) {
        int32_t wr[3][3], row_sum[3];
        struct ep_dw_weights full, two;
        for (r = 0; r < 3; r++) {
            wr[r][0] = ep_dw_w(weights, channels, c, r, 0);
            wr[r][1] = ep_dw_w(weights, channels, c, r, 1);
            wr[r][2] = ep_dw_w(weights, channels, c, r, 2);
            row_sum[r] = in_offset * (wr[r][0] + wr[r][1] + wr[r][2]);
        }
        full.ab0 = ep_pair(wr[0][0], wr[1][0]);
        full.ab1 = ep_pair(wr[0][1], wr[1][1]);
        full.ab2 = ep_pair(wr[0][2], wr[1][2]);
        full.c01 = ep_pair(wr[2][0], wr[2][1]);
        full.c2 = wr[2][2];
        for (oy = 0; oy < out_h; oy++) {
            const int iy = oy * stride - pad_h;
            int first = iy < 0 ? -iy : 0, last = in_h - 1 - iy; /* rows [first, last] of the 3 are inside */
            int32_t bias = ch[c].bias;
            const int8_t *base = in + c;
            int8_t *o = out + (size_t)oy * out_w * channels + c;
            last = last > 2 ? 2 : last;
            if (first == 0 && last == 2) {
                const int8_t *a = base + (size_t)iy * row;
                ep_dw_row(a, a + row, a + 2 * row, o, channels, in_w, out_w, stride, pad_w, &full, bias, &ch[c],
                          -in_offset, zero_point, act_min, act_max, fast);
                continue;
            }
            for (r = 0; r < 3; r++) {
                if (r < first || r > last) {
                    bias -= row_sum[r];
                }
            }
            /* rows first and last (the same row when only one is inside, its pair weight 0) */
            two.ab0 = ep_pair(wr[first][0], last > first ? wr[last][0] : 0);
            two.ab1 = ep_pair(wr[first][1], last > first ? wr[last][1] : 0);
            two.ab2 = ep_pair(wr[first][2], last > first ? wr[last][2] : 0);
            two.c01 = two.c2 = 0;
            ep_dw_row(base + (size_t)(iy + first) * row, base + (size_t)(iy + last) * row, NULL, o, channels, in_w,
                      out_w, stride, pad_w, &two, bias, &ch[c], -in_offset, zero_point, act_min, act_max, fast);
        }
    }
}
