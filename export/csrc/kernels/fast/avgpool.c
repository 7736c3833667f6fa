/*
 * AVERAGE_POOL_2D, int8, exactly as TFLite Micro: the sum over the part of the window inside the
 * input, divided by the count with rounding half away from zero, clamped. The DSP path sums four
 * channels at once in 16-bit lanes (SXTAB16); the generator allows it only when a window has at
 * most 256 values, so a lane cannot overflow.
 */
EP_INLINE int32_t ep_avg(int32_t sum, int count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

EP_INLINE void ep_avgpool_s8(const int8_t *in, int8_t *out, int in_h, int in_w, int channels, int out_h, int out_w,
                             int k_h, int k_w, int stride_h, int stride_w, int pad_h, int pad_w, int32_t act_min,
                             int32_t act_max, int simd)
{
    int oy, ox, y, x, c;
    for (oy = 0; oy < out_h; oy++) {
        const int iy0 = oy * stride_h - pad_h;
        const int y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + k_h > in_h ? in_h : iy0 + k_h;
        for (ox = 0; ox < out_w; ox++) {
            const int ix0 = ox * stride_w - pad_w;
            const int x0 = ix0 < 0 ? 0 : ix0, x1 = ix0 + k_w > in_w ? in_w : ix0 + k_w;
            const int count = (y1 - y0) * (x1 - x0);
            int8_t *o = out + ((size_t)oy * out_w + ox) * channels;
            c = 0;
#if USE_DSP
            for (; simd && c + 4 <= channels; c += 4) {
                uint32_t s02 = 0, s13 = 0;
                for (y = y0; y < y1; y++) {
                    const int8_t *p = in + ((size_t)y * in_w + x0) * channels + c;
                    for (x = x0; x < x1; x++, p += channels) {
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
                for (y = y0; y < y1; y++) {
                    const int8_t *p = in + ((size_t)y * in_w + x0) * channels + c;
                    for (x = x0; x < x1; x++, p += channels) {
                        sum += *p;
                    }
                }
                o[c] = (int8_t)ep_clamp(ep_avg(sum, count), act_min, act_max);
            }
        }
    }
}
