/*
 * CONV_2D as a matrix product over blocks of 4 output pixels.
 *
 * The patch buffer holds the patches of 4 output pixels (k values each, input offset added, so a
 * padding tap is 0) as int16, in the order the inner loop reads them: for each group of 4 values,
 * for each pixel, the pairs (x0, x2) and (x1, x3). A weight row is k rounded up to 4 int8 values
 * (zero-padded) in words; SXTB16 of a word gives (w0, w2), of its ror-8 rotation (w1, w3), and two
 * SMLADs add four products. Each weight word is loaded and widened once per 4 pixels.
 * Scratch: the buffer takes 8 * k4 bytes (k4 = k rounded up to 4); a patch of an input whose
 * channel count is not a multiple of 4 is first gathered as int8 into stage (k4 bytes).
 * On Helium (USE_MVE) a slot is instead the k4 int8 values (uint8 flipped), 2 * k4 bytes apart, and
 * ep_block adds the input offset through each weight row's sum; same tables, same integers.
 */
#define EP_PIXELS 4

/* Halfword of patch value i of pixel slot p in the patch buffer */
EP_INLINE int ep_slot(int i, int p)
{
    return (i >> 2) * 16 + p * 4 + ((i & 1) << 1) + ((i >> 1) & 1);
}

/*
 * Patch values [first, first + n) of pixel slot p: src[0..n) + offset, then zeros up to a
 * multiple of 4. first is a multiple of 4. in_u8: src holds uint8 values.
 */
EP_INLINE void ep_expand(int16_t *buf, int p, int first, const int8_t *src, int n, int32_t offset, int in_u8,
                         int k4)
{
    int i;
#if USE_MVE
    /* Helium: slot p is the int8 values themselves (uint8 flipped to x - 128), k4 bytes at p * 2 * k4 */
    const uint32_t flip = in_u8 ? 0x80808080u : 0u;
    uint8_t *dst = (uint8_t *)buf + (size_t)p * 2u * (size_t)k4 + first;
    for (i = 0; i + 4 <= n; i += 4) {
        const uint32_t v = ep_load_any(src + i) ^ flip;
        __builtin_memcpy(dst + i, &v, 4);
    }
    if (i < n) { /* the last 1-3 values; missing bytes are the zero point */
        uint32_t v = 0;
        int b;
        for (b = 0; b < 4; b++) {
            v |= (uint32_t)(uint8_t)(i + b < n ? src[i + b] : (int8_t)(-offset)) << (8 * b);
        }
        v ^= flip;
        __builtin_memcpy(dst + i, &v, 4);
    }
#elif USE_DSP
    uint32_t *dst = (uint32_t *)buf + first * 2 + 2 * p; /* 8 words per group of 4 values */
    (void)k4;
    const uint32_t offset2 = ((uint32_t)offset & 0xffffu) * 0x10001u;
    for (i = 0; i + 4 <= n; i += 4, dst += 8) {
        const uint32_t v = ep_load4(src + i);
        dst[0] = in_u8 ? (uint32_t)__uxtab16(offset2, v) : (uint32_t)__sxtab16(offset2, v);
        dst[1] = in_u8 ? ep_uxtab16_ror8(offset2, v) : ep_sxtab16_ror8(offset2, v);
    }
    if (i < n) { /* the last 1-3 values; missing bytes are the zero point, which expands to 0 */
        uint32_t v = 0;
        int b;
        for (b = 0; b < 4; b++) {
            v |= (uint32_t)(uint8_t)(i + b < n ? src[i + b] : (int8_t)(-offset)) << (8 * b);
        }
        dst[0] = in_u8 ? (uint32_t)__uxtab16(offset2, v) : (uint32_t)__sxtab16(offset2, v);
        dst[1] = in_u8 ? ep_uxtab16_ror8(offset2, v) : ep_sxtab16_ror8(offset2, v);
    }
#else
    (void)k4;
    for (i = 0; i < n; i++) {
        buf[ep_slot(first + i, p)] = (int16_t)((in_u8 ? (int32_t)(uint8_t)src[i] : (int32_t)src[i]) + offset);
    }
    for (; (i & 3) != 0; i++) {
        buf[ep_slot(first + i, p)] = 0;
    }
#endif
}

/*
 * Patch values [first, first + n) of pixel slot p set to 0 (padding taps); n a multiple of 4.
 * On Helium a padding tap holds the zero point (x_offset below adds it back to 0).
 */
EP_INLINE void ep_zero(int16_t *buf, int p, int first, int n, int32_t offset, int in_u8, int k4)
{
    int i;
#if USE_MVE
    const uint32_t zp4 = ((uint32_t)(uint8_t)(-offset) * 0x01010101u) ^ (in_u8 ? 0x80808080u : 0u);
    uint8_t *dst = (uint8_t *)buf + (size_t)p * 2u * (size_t)k4 + first;
    for (i = 0; i < n; i += 4) {
        __builtin_memcpy(dst + i, &zp4, 4);
    }
#elif USE_DSP
    uint32_t *dst = (uint32_t *)buf + first * 2 + 2 * p;
    (void)offset;
    (void)in_u8;
    (void)k4;
    for (i = 0; i < n; i += 4, dst += 8) {
        dst[0] = 0;
        dst[1] = 0;
    }
#else
    (void)offset;
    (void)in_u8;
    (void)k4;
    for (i = 0; i < n; i++) {
        buf[ep_slot(first + i, p)] = 0;
    }
#endif
}

/* n bytes from src to dst (inlined for the small constant runs of a patch) */
EP_INLINE void ep_copy(int8_t *dst, const int8_t *src, int n)
{
#if defined(__GNUC__)
    __builtin_memcpy(dst, src, (size_t)n);
#else
    int i;
    for (i = 0; i < n; i++) {
        dst[i] = src[i];
    }
#endif
}

/* Weight byte t of a packed word, signed */
EP_INLINE int32_t ep_byte(uint32_t w, int t)
{
    return (int32_t)(((w >> (8 * t)) & 0xffu) ^ 0x80u) - 0x80;
}

/* Requantize and store up to 4 accumulators of one channel, EP_PIXELS rows apart */
EP_INLINE void ep_store4(int8_t *out, int stride, int pixels, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                         const struct ep_requant *rq, int32_t zero_point, int32_t act_min, int32_t act_max, int fast)
{
    const struct ep_requant c = *rq; /* read before the int8 stores, which may alias it */
    out[0] = (int8_t)ep_clamp(ep_requantize(a0, &c, zero_point, fast), act_min, act_max);
    if (pixels > 1) {
        out[stride] = (int8_t)ep_clamp(ep_requantize(a1, &c, zero_point, fast), act_min, act_max);
    }
    if (pixels > 2) {
        out[2 * stride] = (int8_t)ep_clamp(ep_requantize(a2, &c, zero_point, fast), act_min, act_max);
    }
    if (pixels > 3) {
        out[3 * stride] = (int8_t)ep_clamp(ep_requantize(a3, &c, zero_point, fast), act_min, act_max);
    }
}

/*
 * out[p * out_stride + oc] for the first `pixels` (1-4) slots of the patch buffer and every
 * output channel: requant(bias + patch . weight row).
 */
EP_INLINE void ep_block(const int16_t *buf, const uint32_t *weights, const int32_t *bias_table,
                        const struct ep_requant *rq, int rq_step, int k4,
                        int out_c, int8_t *out, int out_stride, int pixels, int32_t zero_point, int32_t act_min,
                        int32_t act_max, int fast, int32_t x_offset)
{
    const int words = k4 / 4;
    const uint32_t *wp = weights;
    int oc, i;
#if USE_MVE
    /*
     * Helium: per weight row, 16 values per step: VMLADAVA adds the 16 products of the row with
     * each slot's int8 values, VADDVA the row's weight sum s; acc = bias + x . w + x_offset * s.
     */
    const int8_t *x = (const int8_t *)buf;
    const size_t slot = 2u * (size_t)k4;
    const uint32x4_t offsets = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_stride);
    (void)words;
    (void)wp;
    for (oc = 0; oc < out_c; oc++) {
        const int8_t *w = (const int8_t *)(weights + (size_t)oc * (size_t)(k4 / 4));
        const int32_t bias = bias_table[oc];
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, s = 0;
        for (i = 0; i + 16 <= k4; i += 16) {
            const int8x16_t wv = vldrbq_s8(w + i);
            s = vaddvaq_s8(s, wv);
            a0 = vmladavaq_s8(a0, vldrbq_s8(x + i), wv);
            a1 = vmladavaq_s8(a1, vldrbq_s8(x + slot + i), wv);
            a2 = vmladavaq_s8(a2, vldrbq_s8(x + 2 * slot + i), wv);
            a3 = vmladavaq_s8(a3, vldrbq_s8(x + 3 * slot + i), wv);
        }
        if (i < k4) { /* the last 4, 8 or 12 values */
            const mve_pred16_t live = vctp8q((uint32_t)(k4 - i));
            const int8x16_t wv = vldrbq_z_s8(w + i, live);
            s = vaddvaq_s8(s, wv);
            a0 = vmladavaq_s8(a0, vldrbq_z_s8(x + i, live), wv);
            a1 = vmladavaq_s8(a1, vldrbq_z_s8(x + slot + i, live), wv);
            a2 = vmladavaq_s8(a2, vldrbq_z_s8(x + 2 * slot + i, live), wv);
            a3 = vmladavaq_s8(a3, vldrbq_z_s8(x + 3 * slot + i, live), wv);
        }
        {
            /* the 4 pixels' sums of this channel requantized together, stored out_stride apart */
            const mve_pred16_t live = vctp32q((uint32_t)pixels);
            int32x4_t acc = vdupq_n_s32(a0);
            acc = vsetq_lane_s32(a1, acc, 1);
            acc = vsetq_lane_s32(a2, acc, 2);
            acc = vsetq_lane_s32(a3, acc, 3);
            acc = vaddq_n_s32(acc, bias + x_offset * s);
            vstrbq_scatter_offset_p_s32(out + oc, offsets,
                                        ep_requant_mve(acc, &rq[oc * rq_step], zero_point, act_min, act_max, fast),
                                        live);
        }
    }
#else
    (void)x_offset;
    for (oc = 0; oc < out_c; oc++) {
#if USE_DSP
        /* the first word starts the four sums from the bias */
        const uint32_t *xp = (const uint32_t *)buf;
        const int32_t bias = bias_table[oc];
        int32_t a0, a1, a2, a3;
        uint32_t w = *wp++, w02 = __sxtb16(w), w13 = ep_sxtb16_ror8(w), x02, x13;
        ep_ldrd(&xp, &x02, &x13);
        a0 = __smlad(x13, w13, __smlad(x02, w02, bias));
        ep_ldrd(&xp, &x02, &x13);
        a1 = __smlad(x13, w13, __smlad(x02, w02, bias));
        ep_ldrd(&xp, &x02, &x13);
        a2 = __smlad(x13, w13, __smlad(x02, w02, bias));
        ep_ldrd(&xp, &x02, &x13);
        a3 = __smlad(x13, w13, __smlad(x02, w02, bias));
        EP_UNROLL2
        for (i = 1; i < words; i++) {
            w = *wp++;
            w02 = __sxtb16(w);
            w13 = ep_sxtb16_ror8(w);
            ep_ldrd(&xp, &x02, &x13);
            a0 = __smlad(x02, w02, a0);
            a0 = __smlad(x13, w13, a0);
            ep_ldrd(&xp, &x02, &x13);
            a1 = __smlad(x02, w02, a1);
            a1 = __smlad(x13, w13, a1);
            ep_ldrd(&xp, &x02, &x13);
            a2 = __smlad(x02, w02, a2);
            a2 = __smlad(x13, w13, a2);
            ep_ldrd(&xp, &x02, &x13);
            a3 = __smlad(x02, w02, a3);
            a3 = __smlad(x13, w13, a3);
        }
#else
        int32_t a0 = bias_table[oc], a1 = a0, a2 = a0, a3 = a0;
        const int16_t *xp = buf;
        for (i = 0; i < words; i++, xp += 16) {
            const uint32_t w = *wp++;
            const int32_t w0 = ep_byte(w, 0), w1 = ep_byte(w, 1), w2 = ep_byte(w, 2), w3 = ep_byte(w, 3);
            a0 += xp[0] * w0 + xp[1] * w2 + xp[2] * w1 + xp[3] * w3;
            a1 += xp[4] * w0 + xp[5] * w2 + xp[6] * w1 + xp[7] * w3;
            a2 += xp[8] * w0 + xp[9] * w2 + xp[10] * w1 + xp[11] * w3;
            a3 += xp[12] * w0 + xp[13] * w2 + xp[14] * w1 + xp[15] * w3;
        }
#endif
        ep_store4(out + oc, out_stride, pixels, a0, a1, a2, a3, &rq[oc * rq_step], zero_point, act_min, act_max,
                  fast);
    }
#endif
}

/* Slots [from, EP_PIXELS) of a partial last block set to 0, so no stale value is read */
EP_INLINE void ep_zero_slots(int16_t *buf, int from, int k4)
{
    int p;
    for (p = from; p < EP_PIXELS; p++) {
        ep_zero(buf, p, 0, k4, 0, 0, k4);
    }
}

/* 1x1 convolution, stride 1, no padding: `pixels` input rows of in_c values -> rows of out_c */
EP_INLINE void ep_conv1x1_s8(const int8_t *in, int8_t *out, int16_t *buf, const uint32_t *weights,
                             const int32_t *bias, const struct ep_requant *rq, int rq_step, int pixels, int in_c, int out_c, int32_t in_offset,
                             int in_u8, int32_t zero_point, int32_t act_min, int32_t act_max, int fast)
{
    const int k4 = (in_c + 3) & ~3;
    int p = 0, j;
    for (; p + EP_PIXELS <= pixels; p += EP_PIXELS) {
        for (j = 0; j < EP_PIXELS; j++) {
            ep_expand(buf, j, 0, in + (size_t)(p + j) * in_c, in_c, in_offset, in_u8, k4);
        }
        ep_block(buf, weights, bias, rq, rq_step, k4, out_c, out + (size_t)p * out_c, out_c, EP_PIXELS, zero_point, act_min,
                 act_max, fast, in_offset + (in_u8 ? 128 : 0));
    }
    if (p < pixels) {
        for (j = 0; p + j < pixels; j++) {
            ep_expand(buf, j, 0, in + (size_t)(p + j) * in_c, in_c, in_offset, in_u8, k4);
        }
        ep_zero_slots(buf, j, k4);
        ep_block(buf, weights, bias, rq, rq_step, k4, out_c, out + (size_t)p * out_c, out_c, pixels - p, zero_point, act_min,
                 act_max, fast, in_offset + (in_u8 ? 128 : 0));
    }
}

/*
 * The patch of output pixel (oy, ox) into slot p. A window inside the input is k_h runs of
 * k_w * in_c contiguous bytes: expanded run by run when in_c is a multiple of 4, else copied to
 * stage first. At the borders taps outside the input get the zero point (0 after the offset).
 */
EP_INLINE void ep_gather(int16_t *buf, int8_t *stage, int p, const int8_t *in, int oy, int ox, int in_h, int in_w,
                         int in_c, int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w,
                         int32_t in_offset, int in_u8)
{
    const int iy0 = oy * stride_h - pad_h, ix0 = ox * stride_w - pad_w;
    const int run = k_w * in_c, k4 = (k_h * run + 3) & ~3;
    int ky, kx, c, t = 0;
    if (iy0 >= 0 && iy0 + k_h <= in_h && ix0 >= 0 && ix0 + k_w <= in_w) {
        const int8_t *x = in + ((size_t)iy0 * in_w + ix0) * in_c;
        if ((in_c & 3) == 0) {
            for (ky = 0; ky < k_h; ky++, x += (size_t)in_w * in_c) {
                ep_expand(buf, p, ky * run, x, run, in_offset, in_u8, k4);
            }
        } else {
            for (ky = 0; ky < k_h; ky++, x += (size_t)in_w * in_c) {
                ep_copy(stage + ky * run, x, run);
            }
            ep_expand(buf, p, 0, stage, (k_h * run + 3) & ~3, in_offset, in_u8, k4); /* stage ends in zero points */
        }
        return;
    }
    if ((in_c & 3) == 0) {
        for (ky = 0; ky < k_h; ky++) {
            for (kx = 0; kx < k_w; kx++, t += in_c) {
                const int iy = iy0 + ky, ix = ix0 + kx;
                if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                    ep_zero(buf, p, t, in_c, in_offset, in_u8, k4);
                } else {
                    ep_expand(buf, p, t, in + ((size_t)iy * in_w + ix) * in_c, in_c, in_offset, in_u8, k4);
                }
            }
        }
        return;
    }
    for (ky = 0; ky < k_h; ky++) {
        for (kx = 0; kx < k_w; kx++) {
            const int iy = iy0 + ky, ix = ix0 + kx;
            if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                for (c = 0; c < in_c; c++) {
                    stage[t++] = (int8_t)(-in_offset);
                }
            } else {
                const int8_t *x = in + ((size_t)iy * in_w + ix) * in_c;
                for (c = 0; c < in_c; c++) {
                    stage[t++] = x[c];
                }
            }
        }
    }
    ep_expand(buf, p, 0, stage, (t + 3) & ~3, in_offset, in_u8, k4);
}

/* General 2-D convolution (NHWC, batch 1, weights [out_c][k_h][k_w][in_c]) */
EP_INLINE void ep_conv_s8(const int8_t *in, int8_t *out, int16_t *buf, int8_t *stage, const uint32_t *weights,
                          const int32_t *bias, const struct ep_requant *rq, int rq_step, int in_h, int in_w, int in_c, int out_h, int out_w,
                          int out_c, int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w,
                          int32_t in_offset, int in_u8, int32_t zero_point, int32_t act_min, int32_t act_max,
                          int fast)
{
    const int k = k_h * k_w * in_c, k4 = (k + 3) & ~3;
    int oy, ox, slot = 0;
    int8_t *o = out;
    if ((in_c & 3) != 0) { /* the stage's last group is padded with zero points, once */
        for (oy = k; oy < k4; oy++) {
            stage[oy] = (int8_t)(-in_offset);
        }
    }
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            ep_gather(buf, stage, slot, in, oy, ox, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, pad_h, pad_w,
                      in_offset, in_u8);
            if (++slot == EP_PIXELS) {
                ep_block(buf, weights, bias, rq, rq_step, k4, out_c, o, out_c, EP_PIXELS, zero_point, act_min, act_max, fast, in_offset + (in_u8 ? 128 : 0));
                o += EP_PIXELS * out_c;
                slot = 0;
            }
        }
    }
    if (slot > 0) {
        ep_zero_slots(buf, slot, k4);
        ep_block(buf, weights, bias, rq, rq_step, k4, out_c, o, out_c, slot, zero_point, act_min, act_max, fast, in_offset + (in_u8 ? 128 : 0));
    }
}

/*
 * 2-D convolution followed by a max pooling (pool_h x pool_w windows, stride equal to the window,
 * no padding), which TFLite Micro runs as two ops on the int8 conv output: here the conv rows of
 * one pooled row are computed into rows (pool_h * pool_w * out_w * out_c bytes), then pooled, so
 * the full conv output never exists. conv_h and conv_w are the conv's output size.
 */
EP_INLINE void ep_conv_maxpool_s8(const int8_t *in, int8_t *out, int16_t *buf, int8_t *stage, int8_t *rows,
                                  const uint32_t *weights, const int32_t *bias, const struct ep_requant *rq,
                                  int rq_step, int in_h, int in_w, int in_c, int conv_h, int conv_w, int out_c,
                                  int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w, int pool_h,
                                  int pool_w, int32_t in_offset, int in_u8, int32_t zero_point, int32_t act_min,
                                  int32_t act_max, int32_t pool_min, int32_t pool_max, int fast)
{
    const int k = k_h * k_w * in_c, k4 = (k + 3) & ~3;
    const int out_h = conv_h / pool_h, out_w = conv_w / pool_w, cols = out_w * pool_w;
    int py, r, x, slot, first;
    (void)conv_h;
    if ((in_c & 3) != 0) {
        for (r = k; r < k4; r++) {
            stage[r] = (int8_t)(-in_offset);
        }
    }
    for (py = 0; py < out_h; py++) {
        /* the pool_h conv rows of this pooled row, columns [0, cols), into rows */
        slot = 0;
        first = 0;
        for (r = 0; r < pool_h; r++) {
            for (x = 0; x < cols; x++) {
                ep_gather(buf, stage, slot, in, py * pool_h + r, x, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w,
                          pad_h, pad_w, in_offset, in_u8);
                if (++slot == EP_PIXELS) {
                    ep_block(buf, weights, bias, rq, rq_step, k4, out_c, rows + (size_t)first * out_c, out_c,
                             EP_PIXELS, zero_point, act_min, act_max, fast, in_offset + (in_u8 ? 128 : 0));
                    first += EP_PIXELS;
                    slot = 0;
                }
            }
        }
        if (slot > 0) {
            ep_zero_slots(buf, slot, k4);
            ep_block(buf, weights, bias, rq, rq_step, k4, out_c, rows + (size_t)first * out_c, out_c, slot,
                     zero_point, act_min, act_max, fast, in_offset + (in_u8 ? 128 : 0));
        }
        /* max over each window */
        for (x = 0; x < out_w; x++) {
            ep_max_window(out + ((size_t)py * out_w + x) * out_c, rows + (size_t)x * pool_w * out_c, pool_h, pool_w,
                          (size_t)cols * out_c, out_c, pool_min, pool_max);
        }
    }
}
