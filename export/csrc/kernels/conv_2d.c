/* CONV_2D: int8 as im2col + the fully connected kernel, and float32. */

/*
 * 2-D convolution as im2col + the fully connected kernel (fc_rows): for each output pixel the receptive
 * field is copied into patch (k_h * k_w * in_c int8 values); uint8 input (in_u8 = 1) is moved to
 * int8 on the way (x - 128), and p.in_offset is the offset of those int8 values. Padding taps get
 * the input zero point, whose product cancels the zero-point term folded into bias.
 */
ALWAYS_INLINE void conv_im2col(const void *in, int in_u8, int8_t *out, int8_t *patch, const uint32_t *weights,
                               const int32_t *bias, const int32_t *multiplier, const int8_t *shift,
                               const struct conv_params *params)
{
    const struct conv_params p = *params; /* local copy: int8 stores could alias *params */
    const int cols = p.k_h * p.k_w * p.in_c;
    const int8_t zero_point = (int8_t)(-p.in_offset);
    int oy, ox, ky, kx, ic;
    for (oy = 0; oy < p.out_h; oy++) {
        for (ox = 0; ox < p.out_w; ox++) {
            int8_t *dst = patch;
            for (ky = 0; ky < p.k_h; ky++) {
                const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                for (kx = 0; kx < p.k_w; kx++) {
                    const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                    if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
                        for (ic = 0; ic < p.in_c; ic++) {
                            *dst++ = zero_point;
                        }
                    } else if (in_u8) {
                        const uint8_t *x = (const uint8_t *)in + ((size_t)iy * p.in_w + ix) * p.in_c;
                        for (ic = 0; ic < p.in_c; ic++) {
                            *dst++ = (int8_t)((int32_t)x[ic] - 128);
                        }
                    } else {
                        const int8_t *x = (const int8_t *)in + ((size_t)iy * p.in_w + ix) * p.in_c;
                        for (ic = 0; ic < p.in_c; ic++) {
                            *dst++ = x[ic];
                        }
                    }
                }
            }
            fc_rows(patch, 0, out + ((size_t)oy * p.out_w + ox) * p.out_c, weights, bias, multiplier, shift, cols,
                    p.out_c, p.out_zero_point, p.act_min, p.act_max);
        }
    }
}

/* 2-D convolution, int8 input (conv_im2col) */
static void conv_s8(const int8_t *in, int8_t *out, int8_t *patch, const uint32_t *weights, const int32_t *bias,
                    const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    conv_im2col(in, 0, out, patch, weights, bias, multiplier, shift, params);
}

/* 2-D convolution, uint8 input (conv_im2col) */
static void conv_u8(const uint8_t *in, int8_t *out, int8_t *patch, const uint32_t *weights, const int32_t *bias,
                    const int32_t *multiplier, const int8_t *shift, const struct conv_params *params)
{
    conv_im2col(in, 1, out, patch, weights, bias, multiplier, shift, params);
}

/* 2-D convolution, float, weights [out_c][k_h][k_w][in_c]; padding taps are skipped */
static void conv_f32(const float *in, float *out, const float *weights, const float *bias,
                     const struct fconv_params *params)
{
    const struct fconv_params p = *params; /* local copy of the shapes */
    int oy, ox, oc, ky, kx, ic;
    for (oy = 0; oy < p.out_h; oy++) {
        for (ox = 0; ox < p.out_w; ox++) {
            for (oc = 0; oc < p.out_c; oc++) {
                float acc = 0.0f;
                for (ky = 0; ky < p.k_h; ky++) {
                    const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                    for (kx = 0; kx < p.k_w; kx++) {
                        const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                        if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
                            continue;
                        }
                        for (ic = 0; ic < p.in_c; ic++) {
                            acc += in[((size_t)iy * p.in_w + ix) * p.in_c + ic] *
                                   weights[(((size_t)oc * p.k_h + ky) * p.k_w + kx) * p.in_c + ic];
                        }
                    }
                }
                out[((size_t)oy * p.out_w + ox) * p.out_c + oc] = clampf(acc + bias[oc], p.act_min_f, p.act_max_f);
            }
        }
    }
}
