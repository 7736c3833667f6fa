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
    int32_t c01, c2;       /* (w[c][0], w[c][1]) and (0, w[c][2]) */
};

/* One input column: the (row a, row b) pair and row c, or the zero point outside the input */
EP_INLINE void ep_dw_col(const int8_t *a, const int8_t *b, const int8_t *c, int j, int step, int in_w,
                         int32_t in_zero_point, int32_t *pair, int32_t *single)
{
    if (j < 0 || j >= in_w) {
        *pair = ep_pair(in_zero_point, in_zero_point);
        *single = in_zero_point;
    } else {
        *pair = ep_pair(a[j * step], b[j * step]);
        *single = c[j * step];
    }
}

/* acc + column contribution through filter column k (0, 1, 2) */
EP_INLINE int32_t ep_dw_mac(int32_t acc, int32_t pair, int32_t single, const struct ep_dw_weights *w, int k)
{
    if (k == 0) {
        return ep_mla_bb(single, w->c01, ep_dot2(pair, w->ab0, acc));
    }
    if (k == 1) {
        return ep_mla_bt(single, w->c01, ep_dot2(pair, w->ab1, acc));
    }
    return ep_mla_bt(single, w->c2, ep_dot2(pair, w->ab2, acc));
}

/*
 * Requantized output of one channel. On the DSP path the right shift rides in the bottom byte of
 * c2_shift (the w[c][2] register, whose bottom halfword is otherwise 0): ASR by a register reads
 * only that byte, SMLABT only the top halfword. One register less in the inner loop.
 */
EP_INLINE int8_t ep_dw_out(int32_t acc, const struct ep_requant *q, int32_t c2_shift, int32_t zero_point,
                           int32_t act_min, int32_t act_max, int fast)
{
#if USE_DSP
    if (fast) {
        int32_t v = ep_smmlar((int32_t)((uint32_t)acc << 1), q->multiplier, q->round + (acc >> 31));
        __asm__("asr %0, %0, %1" : "+r"(v) : "r"(c2_shift));
        return (int8_t)ep_clamp(v, act_min, act_max);
    }
#endif
    (void)c2_shift;
    return (int8_t)ep_clamp(ep_requantize(acc, q, zero_point, fast), act_min, act_max);
}

/*
 * One output row of one channel. a points at the first input row (channel added), rows b and c
 * are db and dc bytes further; when fewer than three rows are inside, the caller repeats one and
 * gives it zero weights. Each input column is loaded once and added to the (at most two) outputs
 * still open; an output is stored as soon as its third column is in. Input columns advance by
 * `step` bytes (the channel count), outputs by out_step.
 */
EP_INLINE void ep_dw_row(const int8_t *a, ptrdiff_t db, ptrdiff_t dc, int8_t *out, int out_step, int step, int in_w,
                         int out_w, int stride, int pad_w, const struct ep_dw_weights *wt, int32_t bias,
                         const struct ep_requant *rq, int32_t in_zero_point, int32_t zero_point, int32_t act_min,
                         int32_t act_max, int fast)
{
    struct ep_dw_weights w = *wt;
    const struct ep_requant q = *rq;
    const int x0 = -pad_w; /* input column under filter column 0 of output 0 */
    const int8_t *p;
    int32_t pair, single, open0, open1, done;
    int ox, j;
#if USE_DSP
    if (fast) {
        w.c2 |= q.shift & 0xff;
    }
#endif
    ep_dw_col(a, a + db, a + dc, x0, step, in_w, in_zero_point, &pair, &single);
    open0 = ep_dw_mac(bias, pair, single, &w, 0);
    if (stride == 1) {
        /* open0: output ox with 1 column in, open1: output ox - 1 with 2 columns in */
        ep_dw_col(a, a + db, a + dc, x0 + 1, step, in_w, in_zero_point, &pair, &single);
        open1 = ep_dw_mac(open0, pair, single, &w, 1);
        open0 = ep_dw_mac(bias, pair, single, &w, 0);
        p = a + (x0 + 2) * step;
        for (ox = 0; ox < out_w - 1; ox++, p += step, out += out_step) { /* columns inside the input */
            pair = ep_pair(p[0], p[db]);
            single = p[dc];
            done = ep_dw_mac(open1, pair, single, &w, 2);
            open1 = ep_dw_mac(open0, pair, single, &w, 1);
            open0 = ep_dw_mac(bias, pair, single, &w, 0);
            *out = ep_dw_out(done, &q, w.c2, zero_point, act_min, act_max, fast);
        }
        ep_dw_col(a, a + db, a + dc, x0 + 1 + out_w, step, in_w, in_zero_point, &pair, &single);
        done = ep_dw_mac(open1, pair, single, &w, 2);
        *out = ep_dw_out(done, &q, w.c2, zero_point, act_min, act_max, fast);
        return;
    }
    /* stride 2: open0 is output ox with its first column in */
    p = a + (x0 + 1) * step;
    for (ox = 0; ox < out_w - 1; ox++, p += 2 * step, out += out_step) { /* columns inside the input */
        pair = ep_pair(p[0], p[db]);
        single = p[dc];
        open0 = ep_dw_mac(open0, pair, single, &w, 1);
        pair = ep_pair(p[step], p[step + db]);
        single = p[step + dc];
        done = ep_dw_mac(open0, pair, single, &w, 2);
        open0 = ep_dw_mac(bias, pair, single, &w, 0);
        *out = ep_dw_out(done, &q, w.c2, zero_point, act_min, act_max, fast);
    }
    j = x0 + 1 + 2 * ox;
    ep_dw_col(a, a + db, a + dc, j, step, in_w, in_zero_point, &pair, &single);
    open0 = ep_dw_mac(open0, pair, single, &w, 1);
    ep_dw_col(a, a + db, a + dc, j + 1, step, in_w, in_zero_point, &pair, &single);
    done = ep_dw_mac(open0, pair, single, &w, 2);
    *out = ep_dw_out(done, &q, w.c2, zero_point, act_min, act_max, fast);
}

/* Weight of row r, column k of channel ch */
EP_INLINE int32_t ep_dw_w(const int8_t *weights, int channels, int ch, int r, int k)
{
    return weights[(r * 3 + k) * channels + ch];
}

/* Row r of one channel from the pending ring to its place in out (channel already added) */
EP_INLINE void ep_dw_flush(int8_t *out, const int8_t *pending, int r, int n, int out_row, int out_col)
{
    const int8_t *src = pending + (r & 1) * n;
    int8_t *dst = out + (size_t)r * out_row;
    int k;
    for (k = 0; k < n; k++, dst += out_col) {
        *dst = src[k];
    }
}

/*
 * 3x3 depthwise convolution, NHWC batch 1. bias holds bias + in_offset * (sum of the 9 weights);
 * in_zero_point = -in_offset. transposed: the window slides down the columns instead of along
 * the rows (fewer, longer runs when the map is taller than wide; equal strides and paddings
 * only). With pending (2 rows of output) the output may be the input itself: output row r of a
 * channel waits in pending until row r + 1 is computed, so no input row is overwritten while a
 * later output still reads it (the generator checks the shapes allow it; a channel only ever
 * overwrites its own bytes).
 */
EP_INLINE void ep_dwconv3x3_s8(const int8_t *in, int8_t *out, int8_t *pending, const int8_t *weights,
                               const int32_t *bias_table, const struct ep_requant *rq, int rq_step, int in_h, int in_w,
                               int channels, int out_h, int out_w, int stride, int pad_h, int pad_w, int transposed,
                               int32_t in_offset, int32_t zero_point, int32_t act_min, int32_t act_max, int fast)
{
    /* rows and columns as the window walks them */
    const int rows_in = transposed ? in_w : in_h, cols_in = transposed ? in_h : in_w;
    const int rows_out = transposed ? out_w : out_h, cols_out = transposed ? out_h : out_w;
    const int pad_r = transposed ? pad_w : pad_h, pad_c = transposed ? pad_h : pad_w;
    const int in_row = transposed ? channels : in_w * channels, in_col = transposed ? in_w * channels : channels;
    const int out_row = transposed ? channels : out_w * channels, out_col = transposed ? out_w * channels : channels;
    int c, oy, r;
    for (c = 0; c < channels; c++) {
        int32_t wr[3][3], row_sum[3];
        struct ep_dw_weights full, two;
        for (r = 0; r < 3; r++) {
            wr[r][0] = transposed ? ep_dw_w(weights, channels, c, 0, r) : ep_dw_w(weights, channels, c, r, 0);
            wr[r][1] = transposed ? ep_dw_w(weights, channels, c, 1, r) : ep_dw_w(weights, channels, c, r, 1);
            wr[r][2] = transposed ? ep_dw_w(weights, channels, c, 2, r) : ep_dw_w(weights, channels, c, r, 2);
            row_sum[r] = in_offset * (wr[r][0] + wr[r][1] + wr[r][2]);
        }
        full.ab0 = ep_pair(wr[0][0], wr[1][0]);
        full.ab1 = ep_pair(wr[0][1], wr[1][1]);
        full.ab2 = ep_pair(wr[0][2], wr[1][2]);
        full.c01 = ep_pair(wr[2][0], wr[2][1]);
        full.c2 = ep_pair(0, wr[2][2]);
        for (oy = 0; oy < rows_out; oy++) {
            const int iy = oy * stride - pad_r;
            int first = iy < 0 ? -iy : 0, last = rows_in - 1 - iy; /* rows [first, last] of the 3 are inside */
            int32_t bias = bias_table[c];
            const int8_t *base = in + c;
            int8_t *o = pending != NULL ? pending + (oy & 1) * cols_out : out + (size_t)oy * out_row + c;
            const int out_step = pending != NULL ? 1 : out_col;
            last = last > 2 ? 2 : last;
            if (first == 0 && last == 2) {
                ep_dw_row(base + (size_t)iy * in_row, in_row, 2 * in_row, o, out_step, in_col, cols_in, cols_out,
                          stride, pad_c, &full, bias, &rq[c * rq_step], -in_offset, zero_point, act_min, act_max,
                          fast);
            } else {
                for (r = 0; r < 3; r++) {
                    if (r < first || r > last) {
                        bias -= row_sum[r];
                    }
                }
                /* rows first and last (the same row when only one is inside, its second weight 0) */
                two.ab0 = ep_pair(wr[first][0], last > first ? wr[last][0] : 0);
                two.ab1 = ep_pair(wr[first][1], last > first ? wr[last][1] : 0);
                two.ab2 = ep_pair(wr[first][2], last > first ? wr[last][2] : 0);
                two.c01 = two.c2 = 0;
                ep_dw_row(base + (size_t)(iy + first) * in_row, (ptrdiff_t)(last - first) * in_row, 0, o, out_step,
                          in_col, cols_in, cols_out, stride, pad_c, &two, bias, &rq[c * rq_step], -in_offset,
                          zero_point, act_min, act_max, fast);
            }
            if (pending != NULL && oy > 0) {
                ep_dw_flush(out + c, pending, oy - 1, cols_out, out_row, out_col);
            }
        }
        if (pending != NULL) {
            ep_dw_flush(out + c, pending, rows_out - 1, cols_out, out_row, out_col);
        }
    }
}
