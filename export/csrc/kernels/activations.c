/* Standalone activations: RELU, RELU6, LEAKY_RELU (int8 as TFLite Micro, and float32). */

/* int8 RELU: rescale to the output quantization, clamp below at its zero */
static void relu_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t multiplier, int shift,
                    int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    int i;
    for (i = 0; i < n; i++) {
        int32_t v = out_zero_point + mbqm((int32_t)in[i] - in_zero_point, multiplier, shift);
        v = v < act_min ? act_min : v;
        v = v > act_max ? act_max : v;
        out[i] = (int8_t)v;
    }
}

/* int8 clamp of the raw values (RELU6 in the input's quantization, as TFLite Micro) */
static void clamp_s8(const int8_t *in, int8_t *out, int n, int32_t lo, int32_t hi)
{
    int i;
    for (i = 0; i < n; i++) {
        const int32_t v = in[i];
        out[i] = (int8_t)(v > hi ? hi : (v < lo ? lo : v));
    }
}

/* int8 LEAKY_RELU: one multiplier for x >= 0, another (alpha folded in) below */
static void leaky_relu_s8(const int8_t *in, int8_t *out, int n, int32_t in_zero_point, int32_t out_zero_point,
                          int32_t identity_multiplier, int identity_shift, int32_t alpha_multiplier,
                          int alpha_shift)
{
    int i;
    for (i = 0; i < n; i++) {
        const int32_t x = (int32_t)in[i] - in_zero_point;
        int32_t v = out_zero_point + (x >= 0 ? mbqm(x, identity_multiplier, identity_shift)
                                             : mbqm(x, alpha_multiplier, alpha_shift));
        v = v < -128 ? -128 : v;
        v = v > 127 ? 127 : v;
        out[i] = (int8_t)v;
    }
}

/* float clamp to [lo, hi] (RELU, RELU6) */
static void clamp_f32(const float *in, float *out, int n, float lo, float hi)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = clampf(in[i], lo, hi);
    }
}

/* float LEAKY_RELU */
static void leaky_relu_f32(const float *in, float *out, int n, float alpha)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = in[i] > 0.0f ? in[i] : in[i] * alpha;
    }
}
