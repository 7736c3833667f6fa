/* DEPTHWISE_CONV_2D: int8 (int8 or uint8 input; Helium in mve/) and float32. */

/*
 * Depthwise convolution, weights [k_h][k_w][out_c], out_c = in_c * depth_multiplier. Only the
 * filter taps that land inside the input are visited. in_u8 says whether the input holds int8
 * or uint8 values; p.in_offset is minus their zero point.
 */
ALWAYS_INLINE void dwconv_taps(const void *in, int in_u8, int8_t *out, const int8_t *weights, const int32_t *bias,
                               const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    const struct conv_params p = *params; /* local copy: int8 stores could alias *params */
    int oy, ox, ic, m, ky, kx;
#if USE_MVE
    if (p.depth_multiplier == 1) {
        dwconv_mve(in, in_u8, out, weights, bias, multiplier, shift, params);
        return;
    }
#endif
    for (oy = 0; oy < p.out_h; oy++) {
        const int iy0 = oy * p.stride_h - p.pad_h;
        /* filter rows [ky_lo, ky_end) land inside the input */
        const int ky_lo = iy0 < 0 ? (-iy0 + p.dilation_h - 1) / p.dilation_h : 0;
        const int ky_all = (p.in_h - iy0 + p.dilation_h - 1) / p.dilation_h;
        const int ky_end = ky_all < p.k_h ? ky_all : p.k_h;
        for (ox = 0; ox < p.out_w; ox++) {
            const int ix0 = ox * p.stride_w - p.pad_w;
            const int kx_lo = ix0 < 0 ? (-ix0 + p.dilation_w - 1) / p.dilation_w : 0;
            const int kx_all = (p.in_w - ix0 + p.dilation_w - 1) / p.dilation_w;
            const int kx_end = kx_all < p.k_w ? kx_all : p.k_w;
            int8_t *y = out + ((size_t)oy * p.out_w + ox) * p.out_c;
            for (ic = 0; ic < p.in_c; ic++) {
                for (m = 0; m < p.depth_multiplier; m++) {
                    const int oc = ic * p.depth_multiplier + m;
                    int32_t acc = bias[oc];
                    for (ky = ky_lo; ky < ky_end; ky++) {
                        const uint8_t *x =
                            (const uint8_t *)in + (size_t)(iy0 + ky * p.dilation_h) * p.in_w * p.in_c + ic;
                        const int8_t *w = weights + (size_t)ky * p.k_w * p.out_c + oc;
                        for (kx = kx_lo; kx < kx_end; kx++) {
                            const size_t at = (size_t)(ix0 + kx * p.dilation_w) * p.in_c;
                            const int32_t v = in_u8 ? (int32_t)x[at] : (int32_t)((const int8_t *)x)[at];
                            acc += (v + p.in_offset) * w[(size_t)kx * p.out_c];
                        }
                    }
                    y[oc] = requant(acc, multiplier[oc], shift[oc], p.out_zero_point, p.act_min, p.act_max);
                }
            }
        }
    }
}

/* Depthwise convolution, int8 input (dwconv_taps) */
static void dwconv_s8(const int8_t *in, int8_t *out, const int8_t *weights, const int32_t *bias,
                      const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    dwconv_taps(in, 0, out, weights, bias, multiplier, shift, params);
}

/* Depthwise convolution, uint8 input (dwconv_taps) */
static void dwconv_u8(const uint8_t *in, int8_t *out, const int8_t *weights, const int32_t *bias,
                      const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    dwconv_taps(in, 1, out, weights, bias, multiplier, shift, params);
}

/* Depthwise convolution, float, weights [k_h][k_w][out_c], out_c = in_c * depth_multiplier */
static void dwconv_f32(const float *in, float *out, const float *weights, const float *bias,
                       const struct fconv_params *params)
{
    const struct fconv_params p = *params; /* local copy of the shapes */
    int oy, ox, ic, m, ky, kx;
    for (oy = 0; oy < p.out_h; oy++) {
        for (ox = 0; ox < p.out_w; ox++) {
            for (ic = 0; ic < p.in_c; ic++) {
                for (m = 0; m < p.depth_multiplier; m++) {
                    const int oc = ic * p.depth_multiplier + m;
                    float acc = 0.0f;
                    for (ky = 0; ky < p.k_h; ky++) {
                        const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                        for (kx = 0; kx < p.k_w; kx++) {
                            const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
                                continue;
                            }
                            acc += in[((size_t)iy * p.in_w + ix) * p.in_c + ic] *
                                   weights[((size_t)ky * p.k_w + kx) * p.out_c + oc];
                        }
                    }
                    out[((size_t)oy * p.out_w + ox) * p.out_c + oc] = clampf(acc + bias[oc], p.act_min_f, p.act_max_f);
                }
            }
        }
    }
}
