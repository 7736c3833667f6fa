/* DEPTHWISE_CONV_2D on Helium: 16 channels per step, in four vectors of 4 int32 lanes. */

#if USE_MVE
/* 4 input values widened to int32 lanes (zero where `live` is off), from int8 or uint8 */
static inline int32x4_t load4_mve(const uint8_t *p, int in_u8, mve_pred16_t live)
{
    return in_u8 ? vreinterpretq_s32_u32(vldrbq_z_u32(p, live)) : vldrbq_z_s32((const int8_t *)p, live);
}
#endif

#if USE_MVE
/*
 * dwconv_taps on Helium, for depth_multiplier 1 (out_c = in_c): for each output pixel, 16
 * channels at a time in four int32x4 accumulators; each in-bounds tap adds (x + in_offset) * w
 * lane by lane (VMUL, VADD). Channels past out_c are predicated off; the same integers as dwconv_taps.
 */
ALWAYS_INLINE void dwconv_mve(const void *in, int in_u8, int8_t *out, const int8_t *weights, const int32_t *bias,
                              const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    const struct conv_params p = *params; /* local copy: int8 stores could alias *params */
    const int channels = p.out_c;
    const size_t row_stride = (size_t)p.in_w * (size_t)channels;
    int oy, ox, c, ky, kx;
    for (oy = 0; oy < p.out_h; oy++) {
        const int iy0 = oy * p.stride_h - p.pad_h;
        const int ky_lo = iy0 < 0 ? (-iy0 + p.dilation_h - 1) / p.dilation_h : 0;
        const int ky_all = (p.in_h - iy0 + p.dilation_h - 1) / p.dilation_h;
        const int ky_end = ky_all < p.k_h ? ky_all : p.k_h;
        for (ox = 0; ox < p.out_w; ox++) {
            const int ix0 = ox * p.stride_w - p.pad_w;
            const int kx_lo = ix0 < 0 ? (-ix0 + p.dilation_w - 1) / p.dilation_w : 0;
            const int kx_all = (p.in_w - ix0 + p.dilation_w - 1) / p.dilation_w;
            const int kx_end = kx_all < p.k_w ? kx_all : p.k_w;
            int8_t *y = out + ((size_t)oy * p.out_w + ox) * (size_t)channels;
            for (c = 0; c < channels; c += 16) {
                const int left = channels - c;
                const mve_pred16_t l0 = vctp32q((uint32_t)left), l1 = vctp32q((uint32_t)(left > 4 ? left - 4 : 0));
                const mve_pred16_t l2 = vctp32q((uint32_t)(left > 8 ? left - 8 : 0));
                const mve_pred16_t l3 = vctp32q((uint32_t)(left > 12 ? left - 12 : 0));
                int32x4_t a0 = vldrwq_z_s32(bias + c, l0), a1 = vldrwq_z_s32(bias + c + 4, l1);
                int32x4_t a2 = vldrwq_z_s32(bias + c + 8, l2), a3 = vldrwq_z_s32(bias + c + 12, l3);
                for (ky = ky_lo; ky < ky_end; ky++) {
                    const uint8_t *xrow = (const uint8_t *)in + (size_t)(iy0 + ky * p.dilation_h) * row_stride + c;
                    const int8_t *wrow = weights + (size_t)ky * p.k_w * channels + c;
                    for (kx = kx_lo; kx < kx_end; kx++) {
                        const uint8_t *x = xrow + (size_t)(ix0 + kx * p.dilation_w) * channels;
                        const int8_t *w = wrow + (size_t)kx * channels;
                        a0 = vaddq_s32(a0, vmulq_s32(vaddq_n_s32(load4_mve(x, in_u8, l0), p.in_offset),
                                                     vldrbq_z_s32(w, l0)));
                        a1 = vaddq_s32(a1, vmulq_s32(vaddq_n_s32(load4_mve(x + 4, in_u8, l1), p.in_offset),
                                                     vldrbq_z_s32(w + 4, l1)));
                        a2 = vaddq_s32(a2, vmulq_s32(vaddq_n_s32(load4_mve(x + 8, in_u8, l2), p.in_offset),
                                                     vldrbq_z_s32(w + 8, l2)));
                        a3 = vaddq_s32(a3, vmulq_s32(vaddq_n_s32(load4_mve(x + 12, in_u8, l3), p.in_offset),
                                                     vldrbq_z_s32(w + 12, l3)));
                    }
                }
                vstrbq_p_s32(y + c, requant4_mve(a0, multiplier + c, shift + c, l0, p.out_zero_point, p.act_min,
                                                 p.act_max), l0);
                vstrbq_p_s32(y + c + 4, requant4_mve(a1, multiplier + c + 4, shift + c + 4, l1, p.out_zero_point,
                                                     p.act_min, p.act_max), l1);
                vstrbq_p_s32(y + c + 8, requant4_mve(a2, multiplier + c + 8, shift + c + 8, l2, p.out_zero_point,
                                                     p.act_min, p.act_max), l2);
                vstrbq_p_s32(y + c + 12, requant4_mve(a3, multiplier + c + 12, shift + c + 12, l3, p.out_zero_point,
                                                      p.act_min, p.act_max), l3);
            }
        }
    }
}
#endif
