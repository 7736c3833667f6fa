/* MAX_POOL_2D and AVERAGE_POOL_2D over float32, as TFLite Micro's reference kernels (int8: fast/pool.c). */

/* Max (average = 0) or average (average = 1) pooling over the in-bounds part of each window, float32 */
ALWAYS_INLINE void pool_f32(const float *in, float *out, const struct fconv_params *params, int average)
{
    const struct fconv_params p = *params; /* local copy of the shapes */
    int oy, ox, c, ky, kx;
    for (oy = 0; oy < p.out_h; oy++) {
        for (ox = 0; ox < p.out_w; ox++) {
            for (c = 0; c < p.in_c; c++) {
                float acc = average ? 0.0f : -3.402823466e+38f, v;
                int count = 0;
                for (ky = 0; ky < p.k_h; ky++) {
                    const int iy = oy * p.stride_h - p.pad_h + ky;
                    for (kx = 0; kx < p.k_w; kx++) {
                        const int ix = ox * p.stride_w - p.pad_w + kx;
                        float x;
                        if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
                            continue;
                        }
                        x = in[((size_t)iy * p.in_w + ix) * p.in_c + c];
                        acc = average ? acc + x : (x > acc ? x : acc);
                        count++;
                    }
                }
                v = count == 0 ? 0.0f : (average ? acc / (float)count : acc);
                v = v < p.act_min_f ? p.act_min_f : v;
                v = v > p.act_max_f ? p.act_max_f : v;
                out[((size_t)oy * p.out_w + ox) * p.in_c + c] = v;
            }
        }
    }
}

/* Max pooling, float32 (pool_f32) */
static void maxpool_f32(const float *in, float *out, const struct fconv_params *params)
{
    pool_f32(in, out, params, 0);
}

/* Average pooling, float32 (pool_f32) */
static void avgpool_f32(const float *in, float *out, const struct fconv_params *params)
{
    pool_f32(in, out, params, 1);
}
