/* MEAN over the spatial dimensions (global average pooling), int8 as TFLite Micro and float32. */

/*
 * int8 mean over the hw pixels of each of c channels (NHWC): the raw sum less the input zero point
 * times hw, scaled by TFLite Micro's multiplier with 1/hw folded in, plus the output zero point
 */
static void mean_hw_s8(const int8_t *in, int8_t *out, int hw, int c, int32_t in_zero_point,
                       int32_t multiplier, int shift, int32_t out_zero_point)
{
    int ch, i;
    for (ch = 0; ch < c; ch++) {
        int32_t sum = 0, v;
        for (i = 0; i < hw; i++) {
            sum += in[(size_t)i * c + ch];
        }
        v = mbqm(sum - in_zero_point * hw, multiplier, shift) + out_zero_point;
        v = v < -128 ? -128 : v;
        v = v > 127 ? 127 : v;
        out[ch] = (int8_t)v;
    }
}

/* float mean over the hw pixels of each of c channels (NHWC) */
static void mean_hw_f32(const float *in, float *out, int hw, int c)
{
    int ch, i;
    for (ch = 0; ch < c; ch++) {
        float sum = 0.0f;
        for (i = 0; i < hw; i++) {
            sum += in[(size_t)i * c + ch];
        }
        out[ch] = sum / (float)hw;
    }
}
