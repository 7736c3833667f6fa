/* AVERAGE_POOL_2D and MAX_POOL_2D, int8, exactly as TFLite Micro's reference kernels. */

/* Rounded average of the window: half away from zero */
EP_INLINE int32_t ep_avg(int32_t sum, int count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/*
 * Average of one window for each channel: rows x cols pixels from first, pixels channels apart and
 * rows row_step apart; the sum divided by the count with rounding half away from zero, clamped. The
 * DSP path sums four channels at once in 16-bit lanes (SXTAB16); the generator allows it only when a
 * window has at most 256 values, so a lane cannot overflow.
 */
EP_INLINE void ep_avg_window(int8_t *o, const int8_t *first, int rows, int cols, size_t row_step, int channels,
                             int32_t act_min, int32_t act_max, int simd)
{
    const int count = rows * cols;
    int y, x, c = 0;
#if USE_DSP
    for (; simd && c + 4 <= channels; c += 4) {
        uint32_t s02 = 0, s13 = 0;
        for (y = 0; y < rows; y++) {
            const int8_t *p = first + (size_t)y * row_step + c;
            for (x = 0; x < cols; x++, p += channels) {
                const uint32_t v = ep_load4(p);
                s02 = __sxtab16(s02, v);
                s13 = ep_sxtab16_ror8(s13, v);
            }
        }
        o[c] = (int8_t)ep_clamp(ep_avg((int16_t)(s02 & 0xffffu), count), act_min, act_max);
        o[c + 1] = (int8_t)ep_clamp(ep_avg((int16_t)(s13 & 0xffffu), count), act_min, act_max);
        o[c + 2] = (int8_t)ep_clamp(ep_avg((int16_t)(s02 >> 16), count), act_min, act_max);
        o[c + 3] = (int8_t)ep_clamp(ep_avg((int16_t)(s13 >> 16), count), act_min, act_max);
    }
#else
    (void)simd;
#endif
    for (; c < channels; c++) {
        int32_t sum = 0;
        for (y = 0; y < rows; y++) {
            const int8_t *p = first + (size_t)y * row_step + c;
            for (x = 0; x < cols; x++, p += channels) {
                sum += *p;
            }
        }
        o[c] = (int8_t)ep_clamp(ep_avg(sum, count), act_min, act_max);
    }
}

#if USE_DSP
/* Byte-wise signed max of a and b: SSUB8 sets a GE flag per byte where a >= b, SEL picks by them */
EP_INLINE uint32_t ep_max4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

/* Byte-wise signed min of a and b */
EP_INLINE uint32_t ep_min4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}
#endif

/*
 * Max of one window for each channel (laid out as in ep_avg_window), clamped to the activation
 * range. The DSP path takes four channels per word.
 */
EP_INLINE void ep_max_window(int8_t *o, const int8_t *first, int rows, int cols, size_t row_step, int channels,
                             int32_t act_min, int32_t act_max)
{
    int y, x, c = 0;
#if USE_DSP
    for (; c + 4 <= channels; c += 4) {
        uint32_t m = 0x80808080u; /* -128 in every lane */
        for (y = 0; y < rows; y++) {
            const int8_t *p = first + (size_t)y * row_step + c;
            for (x = 0; x < cols; x++, p += channels) {
                m = ep_max4(ep_load4(p), m);
            }
        }
        if (act_min > -128) {
            m = ep_max4(m, (uint32_t)(uint8_t)act_min * 0x01010101u);
        }
        if (act_max < 127) {
            m = ep_min4(m, (uint32_t)(uint8_t)act_max * 0x01010101u);
        }
        ep_store_any(o + c, m);
    }
#endif
    for (; c < channels; c++) {
        int32_t m = -128;
        for (y = 0; y < rows; y++) {
            const int8_t *p = first + (size_t)y * row_step + c;
            for (x = 0; x < cols; x++, p += channels) {
                m = *p > m ? *p : m;
            }
        }
        o[c] = (int8_t)ep_clamp(m, act_min, act_max);
    }
}

/*
 * The part of the k_h x k_w window at input row iy0, column ix0 (negative in the padding) that lies
 * inside the in_h x in_w input: its first pixel, its rows and its columns
 */
EP_INLINE const int8_t *ep_clip_window(const int8_t *in, int in_h, int in_w, int channels, int iy0, int ix0, int k_h,
                                       int k_w, int *rows, int *cols)
{
    const int y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + k_h > in_h ? in_h : iy0 + k_h;
    const int x0 = ix0 < 0 ? 0 : ix0, x1 = ix0 + k_w > in_w ? in_w : ix0 + k_w;
    *rows = y1 - y0;
    *cols = x1 - x0;
    return in + ((size_t)y0 * in_w + x0) * channels;
}

/* Average pooling, NHWC: each output pixel stored after its window is read (simd: see ep_avg_window) */
EP_INLINE void ep_avgpool_s8(const int8_t *in, int8_t *out, int in_h, int in_w, int channels, int out_h, int out_w,
                             int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w, int32_t act_min,
                             int32_t act_max, int simd)
{
    int oy, ox, rows, cols;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            const int8_t *first = ep_clip_window(in, in_h, in_w, channels, oy * stride_h - pad_h, ox * stride_w - pad_w,
                                                 k_h, k_w, &rows, &cols);
            ep_avg_window(out + ((size_t)oy * out_w + ox) * channels, first, rows, cols, (size_t)in_w * channels,
                          channels, act_min, act_max, simd);
        }
    }
}

/* Max pooling, NHWC: each output pixel stored after its window is read */
EP_INLINE void ep_maxpool_s8(const int8_t *in, int8_t *out, int in_h, int in_w, int channels, int out_h, int out_w,
                             int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w, int32_t act_min,
                             int32_t act_max)
{
    int oy, ox, rows, cols;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            const int8_t *first = ep_clip_window(in, in_h, in_w, channels, oy * stride_h - pad_h, ox * stride_w - pad_w,
                                                 k_h, k_w, &rows, &cols);
            ep_max_window(out + ((size_t)oy * out_w + ox) * channels, first, rows, cols, (size_t)in_w * channels,
                          channels, act_min, act_max);
        }
    }
}
