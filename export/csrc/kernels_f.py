"""C source of the float32 kernels (TFLite reference semantics, plain loops)."""
from __future__ import annotations

FCONV_PARAMS = """\
/* Shapes of one float convolution or pooling op (NHWC, batch 1) and its activation range */
struct fconv_params {
    int in_h, in_w, in_c, out_h, out_w, out_c;
    int k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, depth_multiplier;
    float act_min_f, act_max_f;
};
"""

CLAMP_F = """\
static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}
"""

FC_F32 = """\
/* Fully connected layer, float: out[r] = act(sum_k in[k] * W[r][k] + bias[r]), W row-major.
   Four rows share each input load; every row still sums in column order. */
static void fc_f32(const float *in, float *out, const float *weights, const float *bias, int cols, int rows,
                   float act_min, float act_max)
{
    int r = 0, k;
    for (; r + 4 <= rows; r += 4) {
        const float *w0 = weights + (size_t)r * (size_t)cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (k = 0; k < cols; k++) {
            const float x = in[k];
            a0 += x * w0[k];
            a1 += x * w1[k];
            a2 += x * w2[k];
            a3 += x * w3[k];
        }
        out[r] = clampf(a0 + bias[r], act_min, act_max);
        out[r + 1] = clampf(a1 + bias[r + 1], act_min, act_max);
        out[r + 2] = clampf(a2 + bias[r + 2], act_min, act_max);
        out[r + 3] = clampf(a3 + bias[r + 3], act_min, act_max);
    }
    for (; r < rows; r++) {
        const float *w = weights + (size_t)r * (size_t)cols;
        float acc = 0.0f;
        for (k = 0; k < cols; k++) {
            acc += in[k] * w[k];
        }
        out[r] = clampf(acc + bias[r], act_min, act_max);
    }
}
"""

CONV_F32 = """\
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
"""

DWCONV_F32 = """\
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
"""

SOFTMAX_F32 = """\
/* Softmax over the last dimension, float */
static void softmax_f32(const float *in, float *out, int rows, int depth, float beta)
{
    int i, c;
    for (i = 0; i < rows; i++, in += depth, out += depth) {
        float max = in[0], sum = 0.0f;
        for (c = 1; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < depth; c++) {
            out[c] = expf((in[c] - max) * beta);
            sum += out[c];
        }
        for (c = 0; c < depth; c++) {
            out[c] = out[c] / sum;
        }
    }
}
"""

LOGISTIC_F32 = """\
/* Logistic, float, with TFLite's cut-offs */
static void logistic_f32(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const float x = in[i];
        if (x > 16.619047164916992f) {
            out[i] = 1.0f;
        } else if (x < -9.0f) {
            out[i] = expf(x);
        } else {
            out[i] = 1.0f / (1.0f + expf(-x));
        }
    }
}
"""
